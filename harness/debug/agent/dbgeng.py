"""The agent's DbgEng engines: pykd and pybag over KDNET. The interrupted IRQL comes from
`!irql` (KD's own break raises IRQL to DISPATCH_LEVEL on x64, so CR8 would lie) and the
thread from `!thread -1 0`. DbgEng cannot cancel an attach that never connects; the agent's
supervisor kills this process when a command overruns.

Standard library only and Python 3.8 syntax, as pykd's wheels stop at CPython 3.9.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from harness.debug.agent import kdtext
from harness.errors import DebuggerError, HarnessTimeoutError

__all__ = ["PybagEngine", "PykdEngine"]


class _KdEngine:
    """What pykd and pybag share: the text commands, parsing and breakpoint bookkeeping."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._bps: dict[int, Any] = {}
        self._addresses: dict[int, int] = {}

    def run(self, text: str) -> str:
        raise NotImplementedError

    def pc(self) -> int:
        raise NotImplementedError

    def _remove(self, handle: Any) -> None:
        raise NotImplementedError

    def _add(self, handle: Any, address: int) -> int:
        bp = next(self._ids)
        self._bps[bp], self._addresses[bp] = handle, address
        return bp

    def clear(self, bp: int) -> None:
        handle = self._bps.pop(bp, None)
        self._addresses.pop(bp, None)
        if handle is None:
            raise DebuggerError(f"no breakpoint {bp} is set")
        self._remove(handle)

    def command(self, text: str) -> str:
        return self.run(text)

    def irql(self) -> int:
        return int(kdtext.parse_irql(self.run("!irql"))["irql"])

    def thread(self) -> dict[str, int | None]:
        parsed = kdtext.parse_thread(self.run("!thread -1 0"))
        return {"id": parsed["thread_id"], "object": parsed["object"]}

    def _wait(
        self, go: Callable[[], None], breakin: Callable[[], None], timeout: float
    ) -> dict[str, Any]:
        """Run with a timer that breaks in at the deadline: a stop caused by that break-in
        rather than our breakpoint is a timeout (the target is left stopped and known)."""
        timer = threading.Timer(timeout, breakin)
        timer.daemon = True
        timer.start()
        try:
            go()
        finally:
            timer.cancel()
        event = kdtext.parse_lastevent(self.run(".lastevent"))
        pc = self.pc()
        ours = [bp for bp, address in self._addresses.items() if address == pc]
        if not ours and event["kind"] == "break":
            raise HarnessTimeoutError(f"no breakpoint was hit within {timeout:g} s")
        return {
            "breakpoint": ours[0] if ours else None,
            "address": pc,
            "event": event["description"],
        }

    def resume(self) -> None:
        """Nothing to do now: DbgEng's go blocks, so the next wait_break resumes."""


class PykdEngine(_KdEngine):
    def __init__(self) -> None:
        super().__init__()
        try:
            import pykd
        except ImportError:
            raise DebuggerError("pykd is not installed for this debugger host's Python") from None
        self.pykd = pykd

    def run(self, text: str) -> str:
        return str(self.pykd.dbgCommand(text) or "")

    def pc(self) -> int:
        return int(self.pykd.reg("rip"))

    def attach(self, target: str, timeout: float, **options: Any) -> dict[str, Any]:
        self.pykd.attachKernel(target)  # blocks until KD connects; the supervisor bounds it
        return {"target": target.split(",key=")[0]}  # never echo the KDNET key

    def break_at(self, symbol: str) -> int:
        address = (
            int(symbol, 16) if symbol.lower().startswith("0x") else int(self.pykd.getOffset(symbol))
        )
        return self._add(self.pykd.setBp(address), address)

    def _remove(self, handle: Any) -> None:
        handle.remove()

    def wait_break(self, timeout: float) -> dict[str, Any]:
        return self._wait(self.pykd.go, self.pykd.breakin, timeout)

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.pykd.loadBytes(address, size))

    def write(self, address: int, data: bytes) -> None:
        self.pykd.writeBytes(address, list(data))

    def detach(self) -> None:
        for bp in list(self._bps):
            self.clear(bp)
        self.run("qd")  # quit and detach: the target keeps running

    def analyze(self, dump: str) -> str:
        """!analyze -v of a crash dump file on this host (harness.triage parses the text)."""
        self.pykd.loadDump(dump)
        return self.run("!analyze -v")


class PybagEngine(_KdEngine):
    def __init__(self) -> None:
        super().__init__()
        try:
            from pybag.kerneldbg import KernelDbg
        except ImportError:
            raise DebuggerError("pybag is not installed for this debugger host's Python") from None
        self.dbg = KernelDbg()

    def run(self, text: str) -> str:
        return str(self.dbg.cmd(text) or "")

    def pc(self) -> int:
        return int(self.dbg.reg.get_pc())

    def attach(self, target: str, timeout: float, **options: Any) -> dict[str, Any]:
        self.dbg.attach(target)
        return {"target": target.split(",key=")[0]}

    def break_at(self, symbol: str) -> int:
        # `? expr` prints "Evaluate expression: N = fffff801`23456789"
        value = self.run(f"? {symbol}").split("=")[-1].strip().replace("`", "").split()[0]
        return self._add(self.dbg.bp(symbol), int(value, 16))

    def _remove(self, handle: Any) -> None:
        self.dbg.bc(handle)

    def wait_break(self, timeout: float) -> dict[str, Any]:
        # SetInterrupt is DbgEng's one call documented as safe from any thread;
        # DEBUG_INTERRUPT_ACTIVE (0) breaks into the target
        return self._wait(self.dbg.go, lambda: self.dbg._control.SetInterrupt(0), timeout)

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.dbg.read(address, size))

    def write(self, address: int, data: bytes) -> None:
        self.dbg.write(address, data)

    def detach(self) -> None:
        for bp in list(self._bps):
            self.clear(bp)
        self.dbg.detach()

    def analyze(self, dump: str) -> str:
        raise DebuggerError(
            "the pybag engine does not open dump files here; use engine=pykd for !analyze"
        )
