"""`GdbSession`: breakpoints and run control over a `GdbRemote`, the part of a debugger that
both `GdbstubDebugger` and the agent's gdbstub engine need: ids for breakpoints, stepping
over the breakpoint a stop happened at, waits that leave the target stopped on timeout.

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
"""

from __future__ import annotations

import itertools

from harness.debug.remote import CONNECT_TIMEOUT, GdbRemote
from harness.errors import DebuggerError, HarnessTimeoutError

__all__ = ["GdbSession"]


class GdbSession:
    """Connects on construction; the target is stopped whenever no wait is in progress."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 10.0,
        hardware: bool = True,
        connect_timeout: float = CONNECT_TIMEOUT,
    ):
        self.remote = GdbRemote(host, port, timeout, connect_timeout)
        self.hardware = hardware
        self._ids = itertools.count(1)
        self.breakpoints: dict[int, int] = {}
        self._running = False
        self._detached = False
        self.remote.connect()

    def insert(self, address: int) -> int:
        self.stopped()
        self.remote.insert_breakpoint(address, self.hardware)
        bp = next(self._ids)
        self.breakpoints[bp] = address
        return bp

    def remove(self, bp: int) -> None:
        address = self.breakpoints.pop(bp, None)
        if address is None:
            raise DebuggerError(f"no breakpoint {bp} is set")
        self.stopped()
        if address not in self.breakpoints.values():
            self.remote.remove_breakpoint(address, self.hardware)

    def resume(self) -> None:
        self.stopped(interrupt=False)
        if self._running:
            return
        pc = self.remote.register("rip")
        if pc in self.breakpoints.values():
            # QEMU stops again at the breakpoint it is resumed from: step over it the way
            # GDB does (remove, single-step, re-insert)
            self.remote.remove_breakpoint(pc, self.hardware)
            try:
                self.remote.step(self.remote.timeout)
            finally:
                self.remote.insert_breakpoint(pc, self.hardware)
        self.remote.cont()
        self._running = True

    def wait(self, timeout: float) -> tuple[int | None, int]:
        """Run until a stop: (our breakpoint id or None, pc). On timeout the target is
        interrupted, so it is stopped and known, and HarnessTimeoutError raised."""
        self.resume()
        try:
            self.remote.wait_stop(timeout)
        except HarnessTimeoutError:
            self.remote.interrupt(self.remote.timeout)
            self._running = False
            raise HarnessTimeoutError(f"no breakpoint was hit within {timeout:g} s") from None
        self._running = False
        pc = self.remote.register("rip")
        hit = [bp for bp, address in self.breakpoints.items() if address == pc]
        return (hit[0] if hit else None), pc

    def poll(self, timeout: float) -> tuple[int | None, int] | None:
        """A stop the running target reported within `timeout` s, as `wait` returns it, or
        None (the target keeps running). For callers that cannot block until a break."""
        if not self._running:
            return None
        try:
            self.remote.wait_stop(timeout)
        except HarnessTimeoutError:
            return None
        self._running = False
        pc = self.remote.register("rip")
        hit = [bp for bp, address in self.breakpoints.items() if address == pc]
        return (hit[0] if hit else None), pc

    def stopped(self, interrupt: bool = True) -> None:
        """Refuse use after detach; interrupt a running target."""
        if self._detached:
            raise DebuggerError(f"{self.remote.where}: already detached")
        if interrupt and self._running:
            self.remote.interrupt(self.remote.timeout)
            self._running = False

    def detach(self) -> None:
        """Remove every breakpoint, let the target run, disconnect; idempotent."""
        if self._detached:
            return
        try:
            self.stopped()
            for address in set(self.breakpoints.values()):
                self.remote.remove_breakpoint(address, self.hardware)
            self.breakpoints.clear()
            self.remote.detach()
        finally:
            self._detached = True
            self.remote.close()
