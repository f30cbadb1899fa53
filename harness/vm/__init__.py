"""Test machines: a `Pool` leases `Machine`s, each a booted guest only this run may touch.

Optional abilities are their own Protocols, checked with isinstance: `Snapshots`
(running-state snapshots), `Dumps` (host-side memory dumps), `Gdbstub` (QEMU's GDB
remote stub on a loopback port), `Forwards` (a loopback port into the guest, e.g. its SSH
server); a rack machine (backend `hardware`) has none of those but `Resets` (clean again by a
reboot), `Health` (taken out of the pool when it fails a check) and `Endpoint` (its SSH server
and host key known beforehand). Backends resolve lazily by name from `BACKENDS`, so
importing this package never imports libvirt or a BMC library.

    with open_pool(load_pool_config("pool.toml")) as pool:
        machine = pool.lease()
        machine.boot()                # start, then wait for the ready marker on the console
        machine.snapshot("ready")
        ...
        machine.revert("ready")       # back to the booted guest, in well under a second
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.hardware.inventory import HardwarePoolConfig
    from harness.vm.config import PoolConfig

__all__ = [
    "BACKENDS",
    "Agent",
    "Console",
    "Dumps",
    "Endpoint",
    "Forwards",
    "Gdbstub",
    "Health",
    "Machine",
    "Pool",
    "Resets",
    "Snapshots",
    "open_pool",
]


class Console(Protocol):
    """A guest's serial console, captured to a file and read as a stream."""

    path: Path

    def mark(self) -> int:
        """The current end of the captured output; pass it as `since` to skip what came before."""
        ...

    def text(self, since: int = 0) -> str:
        """What the guest printed after byte offset `since` (line ends normalised to \\n)."""
        ...

    def wait_for(self, pattern: str, timeout: float, since: int | None = None) -> re.Match[str]:
        """First line matching `pattern` after `since` (default: the last mark); raises
        GuestBootError when the machine stops and HarnessTimeoutError after `timeout` s."""
        ...


@runtime_checkable
class Machine(Protocol):
    """One leased guest. Every method raises InfrastructureError (naming the machine) when
    the hypervisor fails, never a backend exception."""

    name: str
    console: Console

    def start(self) -> None:
        """Power the guest on; returns once the hypervisor runs it (not once it has booted)."""
        ...

    def boot(self, timeout: float | None = None) -> float:
        """Start and wait for the profile's ready marker on the console; returns the seconds
        it took. Raises GuestBootError if the marker does not come within `timeout` (default:
        the pool's boot_timeout)."""
        ...

    def shutdown(self, timeout: float = 60.0) -> None:
        """Ask the guest to power off; force it off after `timeout` seconds."""
        ...

    def destroy(self) -> None:
        """Power off at once; idempotent."""
        ...

    def is_running(self) -> bool:
        """True while the guest runs (or is paused)."""
        ...

    def release(self) -> None:
        """Destroy the guest, forget its definition and files, and free its lease; idempotent."""
        ...


@runtime_checkable
class Snapshots(Protocol):
    """Running-state snapshots: memory and disk, reverting straight into a running guest."""

    def snapshot(self, name: str) -> None:
        """Save the running guest as `name`, replacing an older snapshot of that name."""
        ...

    def snapshots(self) -> list[str]:
        """Names of the snapshots this machine can revert to."""
        ...

    def revert(self, name: str) -> None:
        """Return the guest to snapshot `name`, running."""
        ...


@runtime_checkable
class Dumps(Protocol):
    """Host-side memory dumps of a running (or hung) guest."""

    def dump(self, path: Path, fmt: str = "auto") -> str:
        """Write guest memory to `path`; `fmt` is win-dmp, elf or auto (win-dmp when the
        guest supports it, else elf). Returns the format written."""
        ...


@runtime_checkable
class Gdbstub(Protocol):
    """QEMU's GDB remote stub, for the gdbstub debugger."""

    def gdbstub(self, port: int | None = None) -> tuple[str, int]:
        """Open the stub on loopback (`port`, or a free one chosen now); returns (host, port).
        Idempotent: a second call returns the address already open."""
        ...


@runtime_checkable
class Forwards(Protocol):
    """Host forwards into a guest on user-mode networking (profile linux-standin)."""

    def forward(self, guest_port: int = 22) -> tuple[str, int]:
        """A loopback (host, port) that reaches `guest_port` in the running guest, chosen free
        now. Idempotent while QEMU runs: a second call returns the forward already open."""
        ...


@runtime_checkable
class Resets(Protocol):
    """A machine without snapshots that comes back clean by a reboot (a rack machine whose OS
    discards disk changes, or that was reimaged before the run)."""

    reset_every: int
    """The pool's reset policy: scenarios per boot (1: a reboot before each)."""

    def reset(self) -> float:
        """Power-cycle and wait until the machine is ready again; returns the seconds."""
        ...


@runtime_checkable
class Health(Protocol):
    """A machine that can be taken out of its pool when it fails a health check."""

    expected_build: str | None
    """The OS build the machine must run (a prefix of the guest's own), or None."""
    dump_path: str | None
    """Where the OS leaves its own crash dump, fetched after the reboot, or None."""

    def retire(self, reason: str) -> None:
        """Out of the pool, for `reason`, until a person puts it back; never retried."""
        ...


@runtime_checkable
class Agent(Protocol):
    """A machine whose QEMU guest agent the harness can reach (harness/guest/qga.py)."""

    def agent_command(self, request: str, timeout: float) -> str:
        """One agent request (JSON) and its reply (JSON), within `timeout` seconds."""
        ...


@runtime_checkable
class Endpoint(Protocol):
    """A machine whose SSH server and host key are known beforehand (an inventory entry)."""

    def ssh_endpoint(self) -> tuple[str, int, str]:
        """(host, port, pinned host key file)."""
        ...


@runtime_checkable
class Pool(Protocol):
    """Machines of one profile and image, leased so that two runs never share one. A pool is
    a context manager: leaving it (also by Ctrl-C) releases every machine it leased."""

    name: str

    def lease(self, timeout: float = 600.0) -> Machine:
        """A defined, powered-off machine only this process holds; waits up to `timeout` s for
        a free slot, then raises HarnessTimeoutError."""
        ...

    def leased(self) -> list[Machine]:
        """Machines this pool object holds now."""
        ...

    def close(self) -> None:
        """Release every machine this pool leased; idempotent."""
        ...

    def __enter__(self) -> Pool: ...

    def __exit__(self, *exc: object) -> None: ...


BACKENDS: dict[str, str] = {
    "libvirt": "harness.vm.libvirt:LibvirtPool",
    "hardware": "harness.hardware.pool:HardwarePool",
}


def open_pool(config: PoolConfig | HardwarePoolConfig) -> Pool:
    """The pool `config.backend` names; a missing extra raises BackendUnavailableError."""
    if config.backend not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"unknown vm backend {config.backend!r}; known: {known}")
    module, _, cls = BACKENDS[config.backend].partition(":")
    factory = getattr(importlib.import_module(module), cls)
    pool: Pool = factory(config)
    return pool
