"""A model of the hsprobe test driver running on the simulated kernel.

It does what drivers/hsprobe does and records what it records (probe, create, signal, alert,
enter, exit, swap request / phases / rollback / done, thread exit, unload), so the
simulator's traces and a real kernel's traces go through the same checker. Image version 2
re-registers version 1's endpoint ids with its own functions: the swap. Where the feature is
unavailable, a create runs the routine on the driver's own PsCreateSystemThread loop.

The routine follows the recording rule of docs/trace-format.md ("Events after a wake"): on
entry, before writing its `enter`, it clears the notification events that satisfied the wait
it woke from, and leaves synchronization events to the kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from harness.actions import Behaviour, CreateWorker, Outcome, Swap, routine_symbol
from harness.contract import status as st
from harness.contract import trace
from harness.contract.clock import MS
from harness.contract.startctx import EventKind, WaitType
from harness.contract.startctx import Routine as RoutineKind
from harness.sim.kernel import SimKernel, parameter_status
from harness.sim.mutants import Mutant
from harness.sim.proxy import Endpoint, ProxyExtension
from harness.sim.waits import KEvent, MultiWait
from harness.sim.worker import APC_LEVEL, Worker

__all__ = ["ENDPOINT_IDS", "SimDriver"]

ENDPOINT_IDS = (1, 2)
PARAMETER_COUNT = 2
STOP_ROUNDS: Final = 20
"""Unload ends a worker by waking it STOP_ROUNDS times at most, returning TRUE, then FALSE."""
STOP_WAIT: Final = 500 * MS
"""How long unload waits for the thread to end after each round."""
SWAP_HOME_RETRY: Final = 1000 * MS


class SimDriver:
    """hsprobe.sys (version 1) with hsprobe2.sys (version 2) available to swap in."""

    def __init__(self, kernel: SimKernel):
        self.k = kernel
        self.version = 1
        self.proxy: ProxyExtension | None = None
        self.extension_status = st.NOT_SUPPORTED
        self.workers: dict[int, Worker] = {}
        self.behaviours: dict[int, Behaviour] = {}
        self.stop_round: dict[int, int] = {}
        """Worker -> 1 (return TRUE) or 2 (return FALSE) once unload is ending it."""
        self.gate = KEvent(EventKind.NOTIFICATION, signalled=True)
        self.unloaded = False
        self._next_worker = 1
        self._next_swap = 1
        self._swapping = False  # hsprobe's swap lock: one registration at a time
        self._swap_queue: list[tuple[Swap, Callable[[int], None]]] = []
        self._exit_waiters: dict[int, Callable[[], None]] = {}
        """Worker -> what unload does when that worker's thread ends."""
        kernel.thread_exit_hooks.append(self._thread_exited)

    def load(self) -> None:
        """DriverEntry of version 1: create the extension, register the endpoints."""
        self.extension_status, self.proxy = self.k.create_extension()
        if self.proxy is not None:
            self.proxy.register(self._endpoints(1), None, lambda status, rolled_back: None)

    def _endpoints(self, version: int, mismatch: bool = False) -> list[Endpoint]:
        return [
            Endpoint(
                i,
                PARAMETER_COUNT + (1 if mismatch and i == 1 else 0),
                version,
                routine_symbol(version),
            )
            for i in ENDPOINT_IDS
        ]

    def probe(self) -> None:
        enabled = self.k.feature != "disabled"
        self.k.emit(
            trace.Probe, enabled=enabled, extension_status=self.extension_status, flags=int(enabled)
        )

    # -- workers ----------------------------------------------------------------------
    def create(self, action: CreateWorker) -> Outcome:
        ctx = action.context
        events = [KEvent(kind) for kind in ctx.events]
        wid = self._next_worker
        if self.proxy is None:
            result = self._fallback(action, events, wid)
        else:
            wrapper = (
                None
                if ctx.routine is RoutineKind.NULL
                else self.proxy.wrappers.get(action.endpoint)
            )  # a raw pointer, if the kernel takes one, reaches it too
            freed = [False]
            result = self.k.create_worker(
                self.proxy, ctx, wrapper, events, self._routine, lambda: not freed[0], wid
            )
            freed[0] = action.free_context
        if isinstance(result, Worker):
            self._next_worker += 1
            self.workers[wid] = result
            self.behaviours[wid] = action.behaviour
            self.k.emit(
                trace.Create,
                status=st.SUCCESS,
                context=ctx,
                worker=wid,
                thread=result.thread.id,
                thread_object=result.thread.object,
                endpoint=action.endpoint,
                fallback=result.fallback,
            )
            return Outcome(status=st.SUCCESS, worker=wid)
        self.k.emit(trace.Create, status=result, context=ctx, endpoint=action.endpoint)
        return Outcome(status=result)

    def _fallback(self, action: CreateWorker, events: list[KEvent], wid: int) -> Worker | int:
        """No extension: validate as the create call would, then run our own loop."""
        bad = parameter_status(action.context)
        if bad is not None:
            return bad
        endpoint = Endpoint(
            action.endpoint, PARAMETER_COUNT, self.version, routine_symbol(self.version)
        )
        return self.k.fallback_worker(wid, action.context, events, self._routine, endpoint)

    def _routine(
        self, worker: Worker, status: int, endpoint: Endpoint, ret: Callable[[bool], None]
    ) -> None:
        """HspWorkerRoutine of image `endpoint.version`."""
        k = self.k
        thread = worker.thread
        self._clear_wakers(worker, status)
        k.emit(
            trace.Enter,
            worker=worker.id,
            thread=thread.id,
            thread_object=thread.object,
            irql=thread.irql,
            wait_status=status,
            version=endpoint.version,
            endpoint=endpoint.id,
        )
        # a thread the driver never adopted (worker 0) runs on a zeroed context
        behaviour = self.behaviours.get(worker.id, Behaviour())
        stop = self.stop_round.get(worker.id, 0)
        value = stop == 1 if stop else behaviour.value_for(status)
        if k.has(Mutant.IRQL_LEAK):
            thread.irql = APC_LEVEL

        def finish() -> None:
            k.emit(
                trace.Exit,
                worker=worker.id,
                thread=thread.id,
                irql=thread.irql,
                returned=value,
                version=endpoint.version,
            )
            ret(value)

        def run() -> None:
            k.sched.after(behaviour.busy + k.rng.randrange(10, 50), finish)

        if behaviour.gated and not stop and not self.gate.signalled:
            gate = MultiWait(
                k.sched,
                thread,
                [self.gate],
                wait_type=WaitType.ANY,
                wait_mode=0,
                alertable=False,
                deadline=None,
                on_done=lambda _: run(),
            )
            gate.start()
        else:
            run()

    @staticmethod
    def _clear_wakers(worker: Worker, status: int) -> None:
        """The recording rule: clear the notification events that satisfied the wait."""
        events = worker.events
        if worker.ctx.wait_type == WaitType.ALL:
            woke = events if status == st.SUCCESS else []
        else:
            woke = [events[status]] if status < len(events) else []
        for ev in woke:
            if ev.kind is EventKind.NOTIFICATION:
                ev.clear()

    def signal(self, wid: int, event: int) -> Outcome:
        worker = self.workers.get(wid)
        if worker is None or not 0 <= event < len(worker.events):
            return Outcome(status=st.NOT_FOUND)
        self.k.emit(trace.Signal, worker=wid, event=event)
        worker.events[event].set()
        return Outcome(status=st.SUCCESS)

    def alert(self, wid: int, user_apc: bool) -> Outcome:
        worker = self.workers.get(wid)
        if worker is None or not worker.alive:
            return Outcome(status=st.NOT_FOUND)
        self.k.emit(trace.Alert, worker=wid, user_apc=user_apc)
        worker.alert(user_apc)
        return Outcome(status=st.SUCCESS)

    def mark(self, label: str) -> None:
        """IOCTL_HSP_MARK: a milestone in the trace, stamped with the kernel's clocks."""
        self.k.emit(trace.Mark, label=label)

    def set_gate(self, closed: bool) -> None:
        if closed:
            self.gate.clear()
        else:
            self.gate.set()

    def _later(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current kernel event is over."""
        self.k.sched.after(0, callback)

    def _thread_exited(self, worker: Worker) -> None:
        # PsSetCreateThreadNotifyRoutine: the driver sees its worker threads end
        self.k.emit(trace.ThreadExit, worker=worker.id, thread=worker.thread.id)
        waiter = self._exit_waiters.get(worker.id)
        if waiter is not None:
            waiter()

    # -- swaps and unload -------------------------------------------------------------
    def swap(self, action: Swap, on_done: Callable[[int], None]) -> None:
        """Swap to `action.to_version`: load hsprobe2 (2) or the swap-back IOCTL (1). Swaps
        take the driver's swap lock, as hsprobe's do: one at a time, in request order."""
        if self._swapping:
            self._swap_queue.append((action, on_done))
            return
        self._swapping = True

        def release(status: int) -> None:
            self._swapping = False
            on_done(status)
            if self._swap_queue and not self._swapping:
                self.swap(*self._swap_queue.pop(0))

        self._swap_locked(action, release)

    @property
    def queued_swaps(self) -> int:
        """Swaps waiting for the swap lock."""
        return len(self._swap_queue)

    def _swap_locked(self, action: Swap, on_done: Callable[[int], None]) -> None:
        k = self.k
        sid, self._next_swap = self._next_swap, self._next_swap + 1
        old, new = self.version, action.to_version
        ids = ENDPOINT_IDS

        def record(phase: trace.SwapPhase, **extra: object) -> None:
            k.emit(trace.Swap, swap=sid, phase=phase, from_version=old, to_version=new, **extra)

        def callback(phase: str) -> int:
            status = st.UNSUCCESSFUL if phase == action.fail_phase else st.SUCCESS
            record(trace.SwapPhase(phase), status=status)
            return status

        def done(status: int, rolled_back: bool) -> None:
            if rolled_back:
                record(trace.SwapPhase.ROLLBACK)
            record(trace.SwapPhase.DONE, status=status)
            if st.is_success(status):
                self.version = new
            on_done(status)

        entries = self._endpoints(new, action.parameter_mismatch)
        if self.proxy is None:
            record(trace.SwapPhase.REQUEST, endpoints=ids)
            done(st.NOT_SUPPORTED, False)
            return
        # hsprobe knows what it registered: the trace says whether a count changes
        current = tuple(self.proxy.wrappers[i].target.params for i in ids)
        record(
            trace.SwapPhase.REQUEST,
            endpoints=ids,
            parameter_counts=tuple(e.params for e in entries),
            current_counts=current,
        )
        self.proxy.register(entries, callback, done, swap_id=sid)

    def unload(self, on_done: Callable[[], None]) -> None:
        """DriverUnload as hsprobe does it: swap home (retried every second, gate open),
        then end each live worker in turn: up to STOP_ROUNDS rounds of setting all its
        events with the routine told to return TRUE, then FALSE, waiting STOP_WAIT each for
        the thread to end, which ends it under either convention. A worker that survives
        every round is waited for without end, as hsprobe does, so `on_done` never runs."""
        live = [w for w in self.workers.values() if w.alive]

        def home() -> None:
            self.set_gate(False)
            if self.version == 1 or self.proxy is None:
                self._stop(live, 0, 1, on_done)
            else:
                self.swap(Swap(to_version=1), swapped)

        def swapped(status: int) -> None:
            if st.is_success(status):
                home()
            else:
                self.k.sched.after(SWAP_HOME_RETRY, home)

        home()

    def _stop(
        self, live: list[Worker], index: int, round_: int, on_done: Callable[[], None]
    ) -> None:
        k = self.k
        if index == len(live):
            self.unloaded = True
            k.emit(trace.Unload, version=self.version, live_workers=len(live))
            on_done()
            return
        w = live[index]
        if not w.alive:
            self._stop(live, index + 1, 1, on_done)
            return
        if round_ > STOP_ROUNDS:
            k.emit(trace.Mark, label="worker ignores both return values; unload waits for it")
            return  # KeWaitForSingleObject(thread, ..., NULL): forever
        self.stop_round[w.id] = 2 - (round_ & 1)
        for i in range(len(w.events)):
            self.signal(w.id, i)

        # KeWaitForSingleObject(thread, STOP_WAIT): over at the thread's end or the timeout
        def over(ended: bool) -> None:
            if self._exit_waiters.pop(w.id, None) is None:
                return  # the other one came first
            timer.cancel()
            self._stop(live, index + 1 if ended else index, 1 if ended else round_ + 1, on_done)

        self._exit_waiters[w.id] = lambda: self._later(lambda: over(True))
        timer = k.sched.after(STOP_WAIT, lambda: over(False))
        if not w.alive:
            over(True)
