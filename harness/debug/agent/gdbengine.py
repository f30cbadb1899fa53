"""The agent's gdbstub engine: QEMU's gdbstub through `GdbSession`, so the whole path
(controller, SSH, agent, engine, QEMU) runs end to end without Windows. Over a gdbstub no
KD break intervenes, so CR8 is the interrupted IRQL itself. With `os=linux` and the
kernel's `layout` (harness.debug.linux.KernelLayout, resolved by the lab from the guest's
kallsyms and BTF) it reads the Linux stand-in's IRQL analogue and current task instead.

Standard library only and Python 3.8 syntax: the agent ships this module.
"""

from __future__ import annotations

from typing import Any

from harness.debug import linux, windows
from harness.debug.session import GdbSession
from harness.errors import DebuggerError

__all__ = ["GdbEngine"]


class GdbEngine:
    def __init__(self) -> None:
        self._session: GdbSession | None = None
        self._cid_offset: int | None = None
        self._linux: linux.KernelLayout | None = None
        self._build: int | None = None
        self._symbols: str | None = None

    @property
    def session(self) -> GdbSession:
        if self._session is None:
            raise DebuggerError("not attached: send attach first")
        return self._session

    def limit(self, timeout: float) -> None:
        """Each request's time limit bounds every exchange it makes with the stub, so a
        silent stub is a timeout the engine reports, before the supervisor must kill it."""
        if self._session is not None:
            self._session.remote.timeout = timeout

    def attach(self, target: str, timeout: float, **options: Any) -> dict[str, Any]:
        """target is HOST:PORT; options: hardware, build, cid_offset, symbols; os=linux with
        layout [current_task, preempt_count, task_pid] for the Linux stand-in."""
        host, _, port = target.rpartition(":")
        if not port.isdigit():
            raise DebuggerError(f"gdbstub target must be HOST:PORT, not {target!r}")
        if options.get("os") == "linux":
            layout = options.get("layout")
            if not isinstance(layout, list) or len(layout) != 3:
                raise DebuggerError(
                    "os=linux needs layout=[current_task, preempt_count, task_pid] offsets"
                )
            self._linux = linux.KernelLayout(*(int(x) for x in layout))
        self._session = GdbSession(
            host or "127.0.0.1", int(port), timeout, bool(options.get("hardware", True))
        )
        self._cid_offset = options.get("cid_offset")
        self._build = options.get("build")
        self._symbols = options.get("symbols")
        return {"target": target}

    def break_at(self, symbol: str) -> int:
        if not symbol.lower().startswith("0x"):
            raise DebuggerError(f"the gdbstub engine breaks on 0xADDRESS only, not {symbol!r}")
        return self.session.insert(int(symbol, 16))

    def clear(self, bp: int) -> None:
        self.session.remove(bp)

    def wait_break(self, timeout: float) -> dict[str, Any]:
        bp, pc = self.session.wait(timeout)
        return {"breakpoint": bp, "address": pc}

    def resume(self) -> None:
        self.session.resume()

    def irql(self) -> int:
        self.session.stopped()
        remote = self.session.remote
        if self._linux is not None:
            count = linux.preempt_count(remote, remote, self._linux)
            return linux.context_level(count, remote.register("eflags"))
        return windows.irql(remote)

    def thread(self) -> dict[str, int]:
        remote = self.session.remote
        self.session.stopped()
        if self._linux is not None:
            task = linux.current_task(remote, remote, self._linux)
            return {"id": linux.task_pid(remote, task, self._linux), "object": task}
        thread = windows.current_thread(remote, remote)
        if self._cid_offset is None:  # resolved once: symbols cost a scan of the kernel
            self._cid_offset = windows.cid_offset(
                remote, remote, build=self._build, symbol_path=self._symbols
            )
        return {"id": windows.thread_id(remote, thread, self._cid_offset), "object": thread}

    def read(self, address: int, size: int) -> bytes:
        self.session.stopped()
        return self.session.remote.read(address, size)

    def write(self, address: int, data: bytes) -> None:
        self.session.stopped()
        self.session.remote.write(address, data)

    def command(self, text: str) -> str:
        """A raw RSP packet (e.g. `qC`), for what the verbs do not cover."""
        self.session.stopped()
        return self.session.remote.command(text.encode("ascii")).decode("ascii", "replace")

    def analyze(self, dump: str) -> str:
        raise DebuggerError(
            "the gdbstub engine has no !analyze; use engine=pykd on a Windows debugger host"
        )

    def detach(self) -> None:
        if self._session is not None:
            self._session.detach()
