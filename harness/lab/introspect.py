"""Guest-profile introspection for lab debuggers, and the opener the lab target hands the
scenario suite for `--debugger gdbstub` and `--debugger pykd`.

- linux (the stand-in): routine addresses from the guest's /proc/kallsyms (read over the channel
  while the guest runs: a module loaded by a swap is there as soon as it is loaded), the
  per-CPU current task and preemption count at offsets from kallsyms and the kernel's BTF
  (harness.debug.linux), and the IRQL analogue from the preemption count and RFLAGS.IF.
- windows: module bases from the loaded-module list in guest memory
  (harness.lab.winmodules), routine RVAs from the image's export table, IRQL from CR8, the
  thread from KPCR and ETHREAD.Cid (harness.debug.windows).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.debug import ThreadRef, windows
from harness.debug.session import GdbSession
from harness.errors import ConfigError, DebuggerError, InfrastructureError
from harness.lab.debugger import Introspection, LabGdbDebugger, address_of, parse_symbol
from harness.lab.winmodules import module_base

if TYPE_CHECKING:
    from harness.debug.linux import KernelLayout
    from harness.lab.machine import LabMachine

__all__ = ["LinuxIntrospection", "WindowsIntrospection", "open_lab_debugger"]

BTF_PATH = "/sys/kernel/btf/vmlinux"


class LinuxIntrospection(Introspection):
    def __init__(self, lab: LabMachine) -> None:
        self.lab = lab
        self.layout = self._layout()

    def _symbols(self, names: list[str]) -> dict[str, int]:
        from harness.debug import linux

        channel = self.lab.channel
        if channel is None:
            raise DebuggerError(f"{self.lab.name} has no channel to read its kallsyms")
        result = channel.run(tuple(linux.kallsyms_argv(names)))
        return linux.parse_kallsyms(result.stdout.decode(errors="replace"))

    def _layout(self) -> KernelLayout:
        """Per-CPU and task_struct offsets of the guest's kernel, read once per machine."""
        from harness.debug import linux
        from harness.debug.btf import Btf

        cached = self.lab.cache.get("linux_layout")
        if cached is None:
            channel = self.lab.channel
            if channel is None:
                raise DebuggerError(f"{self.lab.name} has no channel to read its BTF")
            try:
                data = channel.read(BTF_PATH)
            except InfrastructureError as e:
                raise DebuggerError(
                    f"{self.lab.name}: cannot read {BTF_PATH} (the kernel's BTF): {e}"
                ) from None
            btf = Btf(data, source=f"{self.lab.name}:{BTF_PATH}")
            cached = linux.KernelLayout.resolve(self._symbols(list(linux.PERCPU_SYMBOLS)), btf)
            self.lab.cache["linux_layout"] = cached
        layout: KernelLayout = cached
        return layout

    def resolve(self, symbol: str, session: GdbSession | None) -> int:
        address = address_of(symbol)
        if address is not None:
            return address
        module, name = parse_symbol(symbol)
        found = self._symbols([f"{module}!{name}"]).get(f"{module}!{name}")
        if found is None:
            raise DebuggerError(
                f"{self.lab.name}: /proc/kallsyms has no {name} in module "
                f"{module}; is that image loaded?"
            )
        return found

    def irql(self, session: GdbSession) -> int:
        from harness.debug import linux

        session.stopped()
        regs = session.remote
        count = linux.preempt_count(regs, regs, self.layout)
        return linux.context_level(count, regs.register("eflags"))

    def thread(self, session: GdbSession) -> ThreadRef:
        from harness.debug import linux

        session.stopped()
        regs = session.remote
        task = linux.current_task(regs, regs, self.layout)
        return ThreadRef(id=linux.task_pid(regs, task, self.layout), object=task)


class WindowsIntrospection(Introspection):
    def __init__(self, lab: LabMachine, dist: Path, cid_offset: int | None) -> None:
        self.lab, self.dist, self.cid_offset = lab, dist, cid_offset
        self._cid: int | None = None

    def resolve(self, symbol: str, session: GdbSession | None) -> int:
        address = address_of(symbol)
        if address is not None:
            return address
        module, name = parse_symbol(symbol)
        if session is None:
            raise DebuggerError("resolving a Windows module needs the guest's memory")
        session.stopped()
        base = module_base(session.remote, session.remote, module)
        image = self.dist / (module if module.lower().endswith(".sys") else f"{module}.sys")
        return base + windows.export_rva(str(image), name)

    def irql(self, session: GdbSession) -> int:
        session.stopped()
        return windows.irql(session.remote)

    def thread(self, session: GdbSession) -> ThreadRef:
        session.stopped()
        remote = session.remote
        thread = windows.current_thread(remote, remote)
        if self._cid is None:  # resolved once per machine: the build does not change
            self._cid = windows.cid_offset(remote, remote, explicit=self.cid_offset)
        return ThreadRef(id=windows.thread_id(remote, thread, self._cid), object=thread)


def introspection(lab: LabMachine) -> Introspection:
    if lab.profile.name == "linux":
        return LinuxIntrospection(lab)
    return WindowsIntrospection(lab, Path(lab.config.driver.dist), lab.config.debugger.cid_offset)


def open_lab_debugger(lab: LabMachine, name: str, options: dict[str, str]) -> Any:
    """The debugger `name` attached to `lab`. Its settings come from the lab config
    ([debugger]); the spec may only name another gdbstub port (`gdbstub:port=N`, e.g. a
    stub opened at start), by default the machine's own is opened."""
    extra = sorted(set(options) - ({"port"} if name == "gdbstub" else set()))
    if extra:
        raise ConfigError(
            f"--debugger {name} on a lab target takes its settings from the lab "
            f"config ([debugger]), not from the spec: remove {extra}"
        )
    settings = lab.config.debugger
    if name == "gdbstub":
        eyes = introspection(lab)
        host, port = lab.machine.gdbstub()
        if "port" in options:
            port = _port(options["port"])
        return LabGdbDebugger(
            host, port, eyes, watchdog=settings.watchdog, hardware=settings.hardware
        )
    if name == "pykd":
        from harness.lab.agent import open_agent

        return open_agent(lab, introspection(lab) if _needs_addresses(lab) else None)
    raise ConfigError(f"--debugger {name}: a lab target takes gdbstub or pykd")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"gdbstub port={text!r}: use a TCP port from 1 to 65535")
    return int(text)


def _needs_addresses(lab: LabMachine) -> bool:
    """The agent's gdbstub engine breaks on addresses only: the lab resolves them."""
    pykd = lab.config.debugger.pykd
    return pykd is not None and pykd.engine == "gdbstub"
