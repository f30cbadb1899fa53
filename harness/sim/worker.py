"""A hot-swappable worker thread: wait on the events, call the routine through its wrapper,
act on the BOOLEAN it returns, and do it again until told to end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import StartContext, WaitMode
from harness.sim.mutants import Mutant
from harness.sim.proxy import Endpoint, ProxyExtension, Wrapper
from harness.sim.waits import KEvent, MultiWait

if TYPE_CHECKING:
    from harness.sim.kernel import SimKernel

__all__ = ["Routine", "SimThread", "Worker"]

PASSIVE_LEVEL = 0
APC_LEVEL = 1
DISPATCH_LEVEL = 2

#: driver code run for one call: (worker, wait status, endpoint, return continuation)
Routine = Callable[["Worker", int, Endpoint, Callable[[bool], None]], None]


@dataclass
class SimThread:
    id: int
    object: int
    irql: int = PASSIVE_LEVEL


class Worker:
    """The kernel's side of one IoDriverProxyCreateHotSwappableWorkerThread thread."""

    def __init__(self, kernel: SimKernel, wid: int, ctx: StartContext, events: list[KEvent],
                 proxy: ProxyExtension, wrapper: Wrapper, routine: Routine,
                 context_alive: Callable[[], bool]):
        self.kernel = kernel
        self.id = wid
        self.ctx = ctx
        self.events = events
        self.proxy = proxy
        self.wrapper = wrapper
        self.routine = routine
        # with the context-not-copied mutant the thread reads the caller's buffer in place
        self.context_alive = context_alive
        self.thread = kernel.new_thread()
        self.wait: MultiWait | None = None
        self.pending_alert: bool | None = None
        self.alive = True
        self.in_routine = False

    def start(self) -> None:
        self.kernel.sched.after(self.kernel.latency(), self._wait)

    # -- the loop ---------------------------------------------------------------------
    def _wait(self) -> None:
        k = self.kernel
        if not self.alive:
            return
        if k.has(Mutant.CONTEXT_NOT_COPIED) and not self.context_alive():
            k.bugcheck(0x50, "PAGE_FAULT_IN_NONPAGED_AREA: worker read its freed start context")
            return
        if not 1 <= len(self.events) <= st.MAXIMUM_WAIT_OBJECTS:
            k.bugcheck(0xC, "MAXIMUM_WAIT_OBJECTS_EXCEEDED: worker waits on "
                       f"{len(self.events)} objects")
            return
        k.emit(trace.Wait, worker=self.id, thread=self.thread.id)
        user_apc = self.pending_alert
        # a pending user APC is delivered only to an alertable UserMode wait
        if user_apc is not None and self.ctx.alertable and (
                not user_apc or self.ctx.wait_mode == WaitMode.USER):
            self.pending_alert = None
            self._woken(st.USER_APC if user_apc else st.ALERTED)
            return
        self.wait = MultiWait(
            k.sched, self.events, wait_type=self.ctx.wait_type, wait_mode=self.ctx.wait_mode,
            alertable=self.ctx.alertable, deadline=self._deadline(), on_done=self._woken,
            highest_index=k.has(Mutant.WRONG_WAIT_INDEX),
        )
        self.wait.start()

    def _deadline(self) -> int | None:
        k = self.kernel
        timeout = self.ctx.timeout
        if timeout is None or k.has(Mutant.TIMEOUT_NEVER_FIRES):
            return None
        if timeout > 0:
            return timeout
        interval = -timeout
        if k.has(Mutant.EARLY_TIMEOUT):
            interval //= 2
        return k.sched.now + interval

    def _woken(self, status: int) -> None:
        self.wait = None
        self.kernel.sched.after(self.kernel.latency(), lambda: self._call(status))

    def _call(self, status: int) -> None:
        if self.alive:
            self.proxy.call(self.wrapper, lambda ep: self._invoke(ep, status))

    def _invoke(self, endpoint: Endpoint, status: int) -> None:
        k = self.kernel
        self.thread.irql = DISPATCH_LEVEL if k.has(Mutant.DISPATCH_LEVEL) else PASSIVE_LEVEL
        self.in_routine = True

        def body() -> None:
            self.routine(self, status, endpoint, self._returned)

        if not k.breakpoint_hit(self.thread, endpoint.symbol, body):
            body()

    def _returned(self, value: bool) -> None:
        k = self.kernel
        self.in_routine = False
        self.proxy.returned(self.wrapper)
        self.thread.irql = PASSIVE_LEVEL
        ends = k.convention.ends(value)
        if k.has(Mutant.CONVENTION_FLIPPED):
            ends = not ends
        if k.has(Mutant.RETURN_IGNORED):
            ends = False
        if ends:
            self.exit()
        else:
            k.sched.after(k.latency(), self._wait)

    # -- from outside -----------------------------------------------------------------
    def alert(self, user_apc: bool) -> None:
        """KeAlertThread / a user APC: wakes an alertable wait, else stays pending."""
        if self.kernel.has(Mutant.ALERT_IGNORED):
            return
        if self.wait is not None and self.wait.alert(user_apc):
            return
        self.pending_alert = user_apc

    def exit(self) -> None:
        """PsTerminateSystemThread: the thread object is signalled, notify routines run."""
        if not self.alive:
            return
        self.alive = False
        if self.wait is not None:
            self.wait.cancel()
        self.kernel.thread_exited(self)

    def recreate_thread(self) -> None:
        """The swap-recreates-thread mutant: a new thread carries on the same loop."""
        self.kernel.thread_exited(self)
        self.thread = self.kernel.new_thread()
