"""A worker thread: wait on the events, call the routine, act on the BOOLEAN it returns, and
do it again until told to end.

Two kinds: the kernel's hot-swappable worker (IoDriverProxyCreateHotSwappableWorkerThread),
which calls the routine through its endpoint wrapper and acts on the return value under the
kernel's convention; and the driver's own fallback loop (PsCreateSystemThread, where the
feature is unavailable), which calls the routine directly and keeps running while it returns
TRUE, as hsprobe's loop does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import StartContext
from harness.sim.mutants import Mutant
from harness.sim.proxy import Endpoint, ProxyExtension, Wrapper
from harness.sim.waits import PASSIVE_LEVEL, KEvent

if TYPE_CHECKING:
    from harness.sim.kernel import SimKernel

__all__ = ["APC_LEVEL", "DISPATCH_LEVEL", "PASSIVE_LEVEL", "Routine", "Worker"]

APC_LEVEL = 1
DISPATCH_LEVEL = 2

#: driver code run for one call: (worker, wait status, endpoint, return continuation)
Routine = Callable[["Worker", int, Endpoint, Callable[[bool], None]], None]


class Worker:
    """One worker thread; `proxy`+`wrapper` for the kernel's, `direct` for a fallback loop."""

    def __init__(
        self,
        kernel: SimKernel,
        wid: int,
        ctx: StartContext,
        events: list[KEvent],
        routine: Routine,
        context_alive: Callable[[], bool],
        *,
        proxy: ProxyExtension | None = None,
        wrapper: Wrapper | None = None,
        direct: Endpoint | None = None,
    ):
        self.kernel = kernel
        self.id = wid
        self.ctx = ctx
        self.events = events
        self.proxy = proxy
        self.wrapper = wrapper
        self.direct = direct
        self.routine = routine
        # with the context-not-copied mutant the thread reads the caller's buffer in place
        self.context_alive = context_alive
        self.thread = kernel.new_thread()
        self.alive = True
        self.in_routine = False

    @property
    def fallback(self) -> bool:
        return self.direct is not None

    def start(self) -> None:
        self.kernel.sched.after(self.kernel.latency(), self._wait)

    # -- the loop ---------------------------------------------------------------------
    def _wait(self) -> None:
        k = self.kernel
        if not self.alive:
            return
        if k.has(Mutant.CONTEXT_NOT_COPIED) and not self.fallback and not self.context_alive():
            k.bugcheck(0x50, "PAGE_FAULT_IN_NONPAGED_AREA: worker read its freed start context")
            return
        if not 1 <= len(self.events) <= st.MAXIMUM_WAIT_OBJECTS:
            k.bugcheck(
                0xC, f"MAXIMUM_WAIT_OBJECTS_EXCEEDED: worker waits on {len(self.events)} objects"
            )
            return
        k.emit(trace.Wait, worker=self.id, thread=self.thread.id)
        k.wait(self.thread, self.events, self.ctx, self._woken)

    def _woken(self, status: int) -> None:
        self.kernel.sched.after(self.kernel.latency(), lambda: self._call(status))

    def _call(self, status: int) -> None:
        if not self.alive:
            return
        if self.direct is not None:
            self._invoke(self.direct, status)
        elif self.proxy is not None and self.wrapper is not None:
            self.proxy.call(self.wrapper, lambda ep: self._invoke(ep, status))

    def _invoke(self, endpoint: Endpoint, status: int) -> None:
        k = self.kernel
        raised = k.has(Mutant.DISPATCH_LEVEL) and not self.fallback
        self.thread.irql = DISPATCH_LEVEL if raised else PASSIVE_LEVEL
        self.in_routine = True

        def body() -> None:
            self.routine(self, status, endpoint, self._returned)

        if not k.breakpoint_hit(self.thread, endpoint.symbol, body):
            body()

    def _returned(self, value: bool) -> None:
        k = self.kernel
        self.in_routine = False
        if self.proxy is not None and self.wrapper is not None:
            self.proxy.returned(self.wrapper)
        self.thread.irql = PASSIVE_LEVEL
        if self.fallback:
            ends = not value  # hsprobe's own loop: TRUE keeps running
        else:
            ends = k.convention.ends(value)
            if k.has(Mutant.CONVENTION_FLIPPED):
                ends = not ends
            if k.has(Mutant.RETURN_IGNORED):
                ends = False
            if k.has(Mutant.EXITS_AFTER_FIRST_CALL):
                ends = True
        if ends:
            self.exit()
        else:
            k.sched.after(k.latency(), self._wait)

    # -- from outside -----------------------------------------------------------------
    def alert(self, user_apc: bool) -> None:
        """What hsprobe does: queue a user APC, or KeAlertThread in the wait's mode."""
        if self.kernel.has(Mutant.ALERT_IGNORED):
            return
        if user_apc:
            self.thread.queue_user_apc()
        else:
            self.thread.alert(self.ctx.wait_mode)

    def exit(self) -> None:
        """PsTerminateSystemThread: the thread object is signalled, notify routines run."""
        if not self.alive:
            return
        self.alive = False
        wait = self.thread.wait
        if wait is not None:
            wait.cancel()
        k = self.kernel
        if not k.has(Mutant.SILENT_EXIT):
            k.thread_exited(self)
        if k.has(Mutant.CALL_AFTER_EXIT):
            k.sched.after(k.latency(), self._call_anyway)

    def _call_anyway(self) -> None:
        """The call-after-exit mutant: the routine runs once more on the ended thread."""
        if self.direct is not None:
            self._invoke(self.direct, st.WAIT_0)
        elif self.proxy is not None and self.wrapper is not None:
            self.proxy.call(self.wrapper, lambda ep: self._invoke(ep, st.WAIT_0))

    def recreate_thread(self) -> None:
        """The swap-recreates-thread mutant: a new thread carries on the same loop."""
        self.kernel.thread_exited(self)
        self.thread = self.kernel.new_thread()
