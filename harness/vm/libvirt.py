"""The libvirt/QEMU backend: `LibvirtPool` leases slots and defines one domain per lease from
a Jinja2 template; `LibvirtMachine` runs it, snapshots it, dumps it and opens its gdbstub.

Domains are named hs-POOL-SLOT and carry an Owner in their metadata. Leaving the pool (also
by Ctrl-C) destroys and undefines what it created; after a SIGKILL, `harness vm gc` does.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, GuestBootError, HarnessTimeoutError, InfrastructureError
from harness.guest.qga import SocketSend
from harness.vm import dump as dumps
from harness.vm import forward as forwards
from harness.vm import gdbstub as stub
from harness.vm import snapshot as snapshots
from harness.vm.accel import choose_accel
from harness.vm.bounded import call_on, with_timeout
from harness.vm.config import PoolConfig, check_seconds, validated
from harness.vm.connection import import_libvirt, libvirt_errors, open_connection
from harness.vm.console import ConsoleLog
from harness.vm.image import Image, MachineFiles, resolve_image
from harness.vm.lease import Lease, acquire
from harness.vm.metadata import Owner
from harness.vm.network import ensure_isolated_network
from harness.vm.orphans import remove_domain
from harness.vm.template import render

__all__ = ["LibvirtMachine", "LibvirtPool"]

_OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"  # secure boot, Microsoft keys enrolled
_OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
_log = logging.getLogger(__name__)
_SLOW = 10
"""Snapshots and dumps copy guest memory: they get this many times libvirt_timeout."""


_AGENT_RECONNECT = 10.0
"""Seconds an agent request waits for libvirt to reconnect to the agent after a revert."""


class LibvirtMachine:
    """One leased domain. Implements Machine, Snapshots, Dumps, Gdbstub and Forwards."""

    def __init__(
        self,
        conn: Any,
        config: PoolConfig,
        lease: Lease,
        image: Image,
        run_id: str | None = None,
        owner: Owner | None = None,
    ):
        self.name = f"hs-{config.name}-{lease.slot}"
        self.config = config
        self.files = MachineFiles(config.state, self.name)
        self.console = ConsoleLog(self.files.console, self.name, alive=self._can_print)
        self.owner = owner or Owner.current(config.name, self.files.dir, run_id)
        self._conn = conn
        self._lease = lease
        self._image = image
        self._domain: Any = None
        self._gdb: tuple[str, int] | None = None
        self._gdb_port_at_start: int | None = None
        self._forwards: dict[int, tuple[str, int]] = {}
        self._agent_socket: SocketSend | None = None

    # -- definition
    def render(self) -> str:
        """The domain XML this machine is defined from."""
        return render(
            Path(self.config.template_dir),
            self.config.profile,
            name=self.name,
            metadata=self.owner,
            image=self._image,
            uuid=self._domain.UUIDString() if self._domain is not None else None,
            domain_type="kvm" if choose_accel(self.config.accel) == "kvm" else "qemu",
            memory_mib=self.config.memory_mib,
            vcpus=self.config.vcpus,
            emulator=shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64",
            disk=self.files.disk,
            console_log=self.files.console,
            workdir=self.files.dir,
            gdb_port=self._gdb_port_at_start,
            network=self.config.network,
            kdnet_network=self.config.kdnet_network,
            hv_vendor_id=self.config.hv_vendor_id,
            ovmf_code=_OVMF_CODE,
            ovmf_vars=_OVMF_VARS,
        )

    def define(self) -> None:
        """Create the machine's files and define its domain (powered off)."""
        xml = self.render()
        self.files.create(self._image)
        self._define(xml)

    def attach(self) -> Any:
        """Take on the domain defined under this machine's name now (a kept guest's) and
        return it; None when there is none."""
        libvirt = import_libvirt()
        try:
            self._domain = self._conn.lookupByName(self.name)
        except libvirt.libvirtError:
            self._domain = None
        return self._domain

    def _define(self, xml: str) -> None:
        with libvirt_errors(f"libvirt rejected the definition of domain {self.name}"):
            self._domain = self._conn.defineXML(xml)

    def _dom(self) -> Any:
        if self._domain is None:
            raise InfrastructureError(f"{self.name} is not defined (released already?)")
        return self._domain

    # -- Machine
    def start(self) -> None:
        self._gdb = None
        self._forwards.clear()
        self.console.mark()
        if self.config.gdbstub_at_start:
            # the port goes into the definition: pick it now, free now, not at define time
            self._gdb_port_at_start = stub.free_port()
            self._define(self.render())
        with libvirt_errors(f"cannot start domain {self.name}"):
            self._dom().create()
        if self._gdb_port_at_start is not None:
            self._gdb = (stub.HOST, self._gdb_port_at_start)

    def boot(self, timeout: float | None = None) -> float:
        """Start and wait for the boot marker; returns the seconds it took."""
        wait = check_seconds(timeout or self.config.boot_timeout, f"{self.name}: boot")
        began = time.monotonic()
        self.start()
        try:
            self.console.wait_for(self.config.boot_marker, wait)
        except HarnessTimeoutError as e:
            raise GuestBootError(f"{self.name} did not boot: {e}") from None
        return time.monotonic() - began

    def shutdown(self, timeout: float = 60.0) -> None:
        check_seconds(timeout, f"{self.name}: shutdown")
        if not self.is_running():
            return
        libvirt = import_libvirt()
        # a guest with no ACPI listener ignores this: the deadline below forces it off
        with contextlib.suppress(libvirt.libvirtError):
            self._dom().shutdown()
        deadline = time.monotonic() + timeout
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.destroy()

    def destroy(self) -> None:
        if self.is_running():
            with libvirt_errors(f"cannot destroy domain {self.name}"):
                self._dom().destroy()
        self._gdb = None

    def is_running(self) -> bool:
        if self._domain is None:
            return False
        libvirt = import_libvirt()
        try:
            return bool(self._domain.isActive())
        except libvirt.libvirtError:
            return False

    def _can_print(self) -> bool:
        """Whether the console can still grow: running or paused, not off and not crashed (a
        guest that panics is kept, paused, for a dump: waiting for its marker is pointless)."""
        if not self.is_running():
            return False
        libvirt = import_libvirt()
        try:
            return bool(self._dom().state()[0] != libvirt.VIR_DOMAIN_CRASHED)
        except libvirt.libvirtError:
            return False

    def release(self) -> None:
        if self._agent_socket is not None:
            self._agent_socket.close()
            self._agent_socket = None
        try:
            if self._domain is not None:
                remove_domain(self._domain, self.owner)
            self.files.remove()
        finally:
            self._domain = None
            self._lease.release()

    def _slow(self) -> Any:
        """The domain, its calls given time to copy guest memory."""
        return with_timeout(self._dom(), _SLOW * self.config.libvirt_timeout)

    # -- Snapshots
    def snapshot(self, name: str, path: str | None = None) -> None:
        snapshots.create(self._slow(), name, path or self.config.snapshot_path, self.name)

    def snapshots(self) -> list[str]:
        return snapshots.names(self._dom(), self.name)

    def revert(self, name: str, path: str | None = None) -> None:
        chosen = path or self.config.snapshot_path
        snapshots.revert(self._slow(), name, chosen, self.name)
        if chosen == "libvirt":
            # libvirt may have restarted QEMU, and its stub and forwards with it
            self._gdb = None
            self._forwards.clear()

    # -- Dumps, Gdbstub
    def dump(self, path: Path, fmt: str = "auto") -> str:
        return dumps.dump(self._slow(), Path(path), fmt, self.name)

    def gdbstub(self, port: int | None = None) -> tuple[str, int]:
        if self._gdb is None or (port is not None and port != self._gdb[1]):
            self._gdb = stub.open_stub(self._dom(), port, self.name)
        return self._gdb

    # -- Agent
    @property
    def agent_socket(self) -> Path:
        """Where QEMU listens for the harness's own agent port, when the template has one
        (linux-standin's org.hotswap.agent.0)."""
        return self.files.dir / "agent.sock"

    @property
    def probe_socket(self) -> Path:
        """Where QEMU listens for the resident hsprobectl's port, when the template has one
        (linux-standin's org.hotswap.probe.0, harness/lab/probe.py)."""
        return self.files.dir / "probe.sock"

    def agent_command(self, request: str, timeout: float) -> str:
        """One QEMU guest agent request (JSON) and the agent's reply (JSON): on the harness's
        own agent socket when the machine has one, else through libvirt's agent API
        (harness/guest/qga.py says why the socket comes first). An agent that does not
        answer within `timeout` s is an InfrastructureError."""
        if self._agent_socket is None and self.agent_socket.exists():
            self._agent_socket = SocketSend(self.agent_socket, f"on {self.name}")
        if self._agent_socket is not None:  # (a new QEMU's new socket: see UnixLink)
            return self._agent_socket(request, timeout)
        libvirt, libvirt_qemu = import_libvirt(), importlib.import_module("libvirt_qemu")
        seconds = max(1, math.ceil(timeout))
        domain = with_timeout(self._dom(), seconds + 30.0)  # libvirt gives up first
        began = time.monotonic()
        while True:
            try:
                reply: str = call_on(
                    domain,
                    "guest agent",
                    libvirt_qemu.qemuAgentCommand,
                    domain,
                    request,
                    seconds,
                    0,
                )
                return reply
            except libvirt.libvirtError as e:
                text = e.get_error_message()
            waited = time.monotonic() - began
            # refused unsent, to be tried again: a loadvm closes and reopens the agent's port
            # and libvirt follows a moment later ("not connected"); a guest a debugger holds
            # at a breakpoint is paused, and an SSH command would wait for its resume too
            if "not connected" in text and waited < min(timeout, _AGENT_RECONNECT):
                time.sleep(0.005)
            elif "not running" in text and waited < timeout and self._held():
                time.sleep(0.02)
            else:
                if "encode message payload" in text:
                    text += " (the reply is over libvirt's message limit: a command's output "
                    text += "over about 3 MiB must go to a file, read in chunks)"
                raise InfrastructureError(f"{self.name}: guest agent: {text}")

    def _held(self) -> bool:
        """Paused, and not by a crash (a debugger's stop, a pause that a resume ends)."""
        libvirt = import_libvirt()
        state, reason = self.domain_state()
        return bool(
            state == libvirt.VIR_DOMAIN_PAUSED and reason != libvirt.VIR_DOMAIN_PAUSED_CRASHED
        )

    # -- what the lab target watches
    def domain_state(self) -> tuple[int, int]:
        """libvirt's (virDomainState, reason): crashed (6), paused (3) with reason crashed..."""
        with libvirt_errors(f"cannot read the state of domain {self.name}"):
            state, reason = self._dom().state()
        return int(state), int(reason)

    def addresses(self) -> list[str]:
        """The guest's IPv4 addresses on libvirt networks (from DHCP leases, then ARP)."""
        libvirt = import_libvirt()
        found: list[str] = []
        for source in (
            libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
            libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
        ):
            try:
                interfaces = self._dom().interfaceAddresses(source)
            except libvirt.libvirtError:
                continue
            found += [
                a["addr"]
                for i in interfaces.values()
                for a in i.get("addrs") or []
                if a.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4
            ]
            if found:
                break
        return found

    @property
    def domain_log(self) -> Path:
        """libvirt's log of this domain's QEMU (panic info lines land here)."""
        return Path("/var/log/libvirt/qemu") / f"{self.name}.log"

    # -- Forwards
    def forward(self, guest_port: int = 22) -> tuple[str, int]:
        if guest_port not in self._forwards:
            self._forwards[guest_port] = forwards.add_forward(self._dom(), guest_port, self.name)
        return self._forwards[guest_port]

    def qemu_pid(self) -> int | None:
        """The QEMU process running this domain (for memory figures), or None."""
        pidfile = Path("/run/libvirt/qemu") / f"{self.name}.pid"
        try:
            return int(pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


class LibvirtPool:
    """Machines of one PoolConfig. See harness.vm.Pool."""

    def __init__(self, config: PoolConfig, run_id: str | None = None):
        config = validated(config)  # a PoolConfig built in code skipped the range checks
        self.name = config.name
        self.config = config
        self._image = resolve_image(config.profile, config.image)
        self._conn = open_connection(config.uri, config.libvirt_timeout)
        self._run_id = run_id
        self._machines: list[LibvirtMachine] = []
        try:
            self._check_host()
            if config.profile == "windows11":  # KDNET's NIC sits on a network of its own
                ensure_isolated_network(self._conn, Path(config.template_dir), config.kdnet_network)
        except BaseException:
            self._close_connection()
            raise

    def _check_host(self) -> None:
        """Memory and CPUs within what the libvirt host has: libvirt does not refuse a
        guest larger than its host, it fails (or swaps) when it starts."""
        with libvirt_errors(f"cannot read the resources of the libvirt host {self.config.uri}"):
            info = self._conn.getInfo()  # [model, memory MiB, CPUs, MHz, ...]
        memory, cpus = int(info[1]), int(info[2])
        if self.config.memory_mib > memory:
            raise ConfigError(
                f"pool {self.name}: field memory_mib: {self.config.memory_mib} "
                f"MiB is more than the libvirt host's {memory} MiB; lower it"
            )
        if self.config.vcpus > cpus:
            raise ConfigError(
                f"pool {self.name}: field vcpus: {self.config.vcpus} is more than "
                f"the libvirt host's {cpus} CPUs; lower it"
            )

    def _close_connection(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()

    def lease(self, timeout: float = 600.0) -> LibvirtMachine:
        lease = acquire(self.config.state / "leases", self.name, self.config.size, timeout)
        machine = LibvirtMachine(self._conn, self.config, lease, self._image, self._run_id)
        self._machines.append(machine)  # before define: an interrupt midway still cleans up
        try:
            self._clear_stale(machine.name)
            machine.define()
        except BaseException:
            self._machines.remove(machine)
            machine.release()
            raise
        return machine

    def _clear_stale(self, name: str) -> None:
        """A domain under our slot's name is a dead run's leftover (we hold the slot's lease),
        unless its owner lives: then someone uses another state_dir for the same pool."""
        libvirt = import_libvirt()
        try:
            domain = self._conn.lookupByName(name)
            xml = domain.XMLDesc(0)
        except libvirt.libvirtError:  # none, or `harness vm gc` removed it just now
            return
        owner = Owner.from_domain_xml(xml)
        if owner is not None and owner.kept:
            raise InfrastructureError(
                f"domain {name} is a kept guest that provisioning defined (harness lab "
                "status lists them); give this pool another name"
            )
        if owner is not None and owner.is_alive():
            raise InfrastructureError(
                f"domain {name} belongs to live process {owner.pid} (run {owner.run_id}); "
                "two pools with one name must share one state_dir"
            )
        if owner is None:
            raise InfrastructureError(
                f"domain {name} exists and is not the harness's; rename the pool or remove it"
            )
        remove_domain(domain, owner)

    def leased(self) -> list[LibvirtMachine]:
        return list(self._machines)

    def close(self) -> None:
        errors = []
        while self._machines:
            machine = self._machines.pop()
            try:
                machine.release()
            except InfrastructureError as e:
                errors.append(str(e))
        self._close_connection()
        if errors:
            raise InfrastructureError("; ".join(errors))

    def __enter__(self) -> LibvirtPool:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            self.close()
        except InfrastructureError as e:
            if exc is None:
                raise
            # already unwinding (Ctrl-C, a failed boot): that error is the one to report;
            # this one only says what `harness vm gc` will have to remove
            _log.warning("harness: %s; `harness vm gc` removes what was left", e)
