"""Debuggers: independent eyes on the kernel. A `Debugger` breaks in a routine and reads
what the CPU says (the interrupted IRQL, the current thread), so verdicts on IRQL and thread
identity never rest on the driver's own word.

Backends resolve lazily by name from `BACKENDS` (sim, gdbstub, pykd); a spec is
`NAME[:key=value,...]`, e.g. `gdbstub:host=127.0.0.1,port=1234`, with values holding a comma
quoted (`kd="net:port=50000,key=K"`): `harness.debug.spec` has the grammar, and each backend
one typed options struct (`GdbstubOptions`, `PykdOptions`; sim takes none).
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Protocol, runtime_checkable

import msgspec

from harness.debug.spec import split_spec
from harness.errors import ConfigError

__all__ = ["BACKENDS", "Debugger", "Memory", "Stop", "ThreadRef", "open_debugger"]


class ThreadRef(msgspec.Struct, frozen=True):
    """A kernel thread: its id (CLIENT_ID.UniqueThread) and its KTHREAD/ETHREAD address."""

    id: int
    object: int


class Stop(msgspec.Struct, frozen=True, kw_only=True):
    """Why the target stopped: which breakpoint, at which address."""

    breakpoint: int | None
    """Id returned by `break_at`, or None for a stop that was not ours."""
    address: int
    symbol: str | None = None


@runtime_checkable
class Memory(Protocol):
    """Virtual memory of a stopped target."""

    def read(self, address: int, size: int) -> bytes:
        """Read `size` bytes; raises DebuggerError if any byte is unreadable."""
        ...

    def write(self, address: int, data: bytes) -> None:
        """Write `data` at `address`."""
        ...


@runtime_checkable
class Debugger(Memory, Protocol):
    """A kernel debugger attached to a target. Waits always take a timeout (seconds).

    Raises DebuggerError when the connection fails and HarnessTimeoutError when a wait runs
    out; never blocks forever.
    """

    def break_at(self, symbol: str) -> int:
        """Set a breakpoint at `module!routine` (or `0xADDRESS`); returns its id."""
        ...

    def clear(self, breakpoint: int) -> None:
        """Remove a breakpoint set with `break_at`."""
        ...

    def wait_break(self, timeout: float) -> Stop:
        """Let the target run until it stops, at most `timeout` seconds."""
        ...

    def irql(self) -> int:
        """IRQL of the code that was interrupted by the stop (not the debugger's own)."""
        ...

    def current_thread(self) -> ThreadRef:
        """The thread that was running on the stopped processor."""
        ...

    def resume(self) -> None:
        """Continue the target after a stop."""
        ...

    def detach(self) -> None:
        """Remove every breakpoint, let the target run, and disconnect; idempotent."""
        ...


BACKENDS: dict[str, str] = {
    "sim": "harness.debug.sim:SimDebugger",
    "gdbstub": "harness.debug.gdbstub:GdbstubDebugger",
    "pykd": "harness.debug.pykd:PykdDebugger",
}


def open_debugger(spec: str, *, target: Any = None) -> Debugger:
    """Attach the debugger a spec names; `target` lets the sim debugger see its simulator.
    No message quotes the spec itself: its options may hold a KDNET key."""
    name = spec.partition(":")[0]
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        # the name is shown only when it looks like one: `key=K` where a name should be is
        # a mistyped spec whose text may be a secret
        shown = repr(name) if re.fullmatch(r"[A-Za-z][\w-]{0,19}", name) else "(not a name)"
        raise ConfigError(
            f"unknown debugger {shown}; known: {known} (a spec is NAME or NAME:key=value,...)"
        )
    options = split_spec(spec)[1]
    opener = getattr(target, "open_debugger", None)
    if opener is not None and name != "sim":  # a lab target attaches to its own machine
        attached: Debugger = opener(name, options)
        return attached
    module, _, cls = BACKENDS[name].partition(":")
    factory = getattr(importlib.import_module(module), cls)
    debugger: Debugger = factory.from_options(options, target=target)
    return debugger
