"""A model of the hsprobe test driver running on the simulated kernel.

It records what the real driver records (probe, create, signal, alert, enter, exit, swap
request / phases / rollback / done, thread exit, unload), so the simulator's traces and a
real kernel's traces go through the same checker. Image version 2 re-registers version 1's
endpoint ids with its own functions: the swap.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.actions import Behaviour, CreateWorker, Outcome, Swap, routine_symbol
from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, WaitMode, WaitType
from harness.contract.startctx import Routine as RoutineKind
from harness.sim.kernel import SimKernel
from harness.sim.mutants import Mutant
from harness.sim.proxy import Endpoint, ProxyExtension, Wrapper
from harness.sim.scheduler import MS
from harness.sim.waits import KEvent, MultiWait
from harness.sim.worker import APC_LEVEL, Worker

__all__ = ["ENDPOINT_IDS", "FallbackWorker", "SimDriver"]

ENDPOINT_IDS = (1, 2)
PARAMETER_COUNT = 2
UNLOAD_TIMEOUT = 1000 * MS
MAXIMUM_WAIT_OBJECTS = 64


class FallbackWorker(Worker):
    """hsprobe's own loop where the feature is off: wait, call the routine directly (no
    proxy, no wrapper), and wait again while it returns TRUE (the driver's loop, not the
    kernel's: the documented meaning holds whatever the kernel's convention)."""

    def _call(self, status: int) -> None:
        if self.alive:
            self._invoke(self.wrapper.target, status)

    def _returned(self, value: bool) -> None:
        self.in_routine = False
        if value:
            self.kernel.sched.after(self.kernel.latency(), self._wait)
        else:
            self.exit()


class SimDriver:
    """hsprobe.sys (version 1) with hsprobe2.sys (version 2) available to swap in."""

    def __init__(self, kernel: SimKernel):
        self.k = kernel
        self.version = 1
        self.proxy: ProxyExtension | None = None
        self.extension_status = st.NOT_SUPPORTED
        self.workers: dict[int, Worker] = {}
        self.behaviours: dict[int, Behaviour] = {}
        self.gate = KEvent(EventKind.NOTIFICATION)
        self.gate.signalled = True
        self.unloaded = False
        self.stopping = False
        self._stop_value: dict[int, bool] = {}
        self._next_worker = 1
        self._next_swap = 1
        self._swapping = False
        self._swap_queue: list[tuple[Swap, Callable[[int], None]]] = []
        kernel.thread_exit_hooks.append(self._thread_exited)

    def load(self) -> None:
        """DriverEntry of version 1: create the extension, register the endpoints."""
        self.extension_status, self.proxy = self.k.create_extension()
        if self.proxy is not None:
            self.proxy.register(self._endpoints(1), None, lambda status, rolled_back: None)

    def _endpoints(self, version: int, mismatch: bool = False) -> list[Endpoint]:
        return [
            Endpoint(i, PARAMETER_COUNT + (1 if mismatch and i == 1 else 0), version,
                     routine_symbol(version))
            for i in ENDPOINT_IDS
        ]

    def probe(self) -> None:
        enabled = self.k.feature != "disabled"
        self.k.emit(trace.Probe, enabled=enabled, extension_status=self.extension_status,
                    flags=int(enabled))

    # -- workers ----------------------------------------------------------------------
    def create(self, action: CreateWorker) -> Outcome:
        ctx = action.context
        events = [KEvent(kind) for kind in ctx.events]
        if self.proxy is None:
            return self._create_fallback(action, events)
        wrapper = None  # a raw pointer, if the kernel accepts one, still reaches the endpoint
        if self.proxy is not None and ctx.routine is not RoutineKind.NULL:
            wrapper = self.proxy.wrappers.get(action.endpoint)
        freed = [False]
        wid = self._next_worker
        result = self.k.create_worker(self.proxy, ctx, wrapper, events, self._routine,
                                      lambda: not freed[0], wid)
        if isinstance(result, Worker):
            self._next_worker += 1
            self.workers[wid] = result
            self.behaviours[wid] = action.behaviour
            self.k.emit(trace.Create, status=st.SUCCESS, context=ctx, worker=wid,
                        thread=result.thread.id, thread_object=result.thread.object)
            freed[0] = action.free_context
            return Outcome(status=st.SUCCESS, worker=wid)
        self.k.emit(trace.Create, status=result, context=ctx)
        return Outcome(status=result)

    def _create_fallback(self, action: CreateWorker, events: list[KEvent]) -> Outcome:
        """No extension: hsprobe validates the context itself, as the reference says the
        create call does, and runs its routine on its own PsCreateSystemThread loop."""
        ctx = action.context
        if (ctx.routine is RoutineKind.NULL or not 1 <= len(events) <= MAXIMUM_WAIT_OBJECTS
                or ctx.wait_type not in (WaitType.ALL, WaitType.ANY)
                or ctx.wait_mode not in (WaitMode.KERNEL, WaitMode.USER)):
            self.k.emit(trace.Create, status=st.INVALID_PARAMETER, context=ctx, fallback=True)
            return Outcome(status=st.INVALID_PARAMETER)
        wid, self._next_worker = self._next_worker, self._next_worker + 1
        endpoint = Endpoint(action.endpoint, PARAMETER_COUNT, self.version,
                            routine_symbol(self.version))
        worker = FallbackWorker(self.k, wid, ctx, events, ProxyExtension(self.k),
                                Wrapper(endpoint.id, endpoint), self._routine, lambda: True)
        self.workers[wid] = worker
        self.behaviours[wid] = action.behaviour
        self.k.emit(trace.Create, status=st.SUCCESS, context=ctx, worker=wid,
                    thread=worker.thread.id, thread_object=worker.thread.object, fallback=True)
        worker.start()
        return Outcome(status=st.SUCCESS, worker=wid)

    def _routine(self, worker: Worker, status: int, endpoint: Endpoint,
                 ret: Callable[[bool], None]) -> None:
        """HspWorkerRoutine of image `endpoint.version`."""
        k = self.k
        thread = worker.thread
        k.emit(trace.Enter, worker=worker.id, thread=thread.id, thread_object=thread.object,
               irql=thread.irql, wait_status=status, version=endpoint.version,
               endpoint=endpoint.id)
        behaviour = self.behaviours[worker.id]
        value = behaviour.value_for(status)
        if self.stopping:
            value = self._stop_value[worker.id] = not self._stop_value.get(worker.id, False)
        self._clear_notification(worker, status)
        if k.has(Mutant.IRQL_LEAK):
            thread.irql = APC_LEVEL

        def finish() -> None:
            k.emit(trace.Exit, worker=worker.id, thread=thread.id, irql=thread.irql,
                   returned=value, version=endpoint.version)
            ret(value)

        def run() -> None:
            k.sched.after(behaviour.busy + k.rng.randrange(10, 50), finish)

        if behaviour.gated and not self.gate.signalled:
            gate = MultiWait(k.sched, [self.gate], wait_type=WaitType.ANY, wait_mode=0,
                             alertable=False, deadline=None, on_done=lambda _: run())
            gate.start()
        else:
            run()

    def _clear_notification(self, worker: Worker, status: int) -> None:
        # a notification event stays set: the routine resets the one that woke it
        index = st.wait_index(status)
        if worker.ctx.wait_type == WaitType.ALL:
            for ev in worker.events:
                ev.clear()
        elif index is not None and index < len(worker.events):
            worker.events[index].clear()

    def signal(self, wid: int, event: int) -> Outcome:
        worker = self.workers.get(wid)
        if worker is None or not 0 <= event < len(worker.events):
            return Outcome(status=st.INVALID_PARAMETER)
        self.k.emit(trace.Signal, worker=wid, event=event)
        worker.events[event].set()
        return Outcome(status=st.SUCCESS)

    def alert(self, wid: int, user_apc: bool) -> Outcome:
        worker = self.workers.get(wid)
        if worker is None:
            return Outcome(status=st.INVALID_PARAMETER)
        self.k.emit(trace.Alert, worker=wid, user_apc=user_apc)
        worker.alert(user_apc)
        return Outcome(status=st.SUCCESS)

    def set_gate(self, closed: bool) -> None:
        if closed:
            self.gate.clear()
        else:
            self.gate.set()

    def _thread_exited(self, worker: Worker) -> None:
        # PsSetCreateThreadNotifyRoutine: the driver sees its worker threads end
        self.k.emit(trace.ThreadExit, worker=worker.id, thread=worker.thread.id)

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
            record(trace.SwapPhase(phase))
            return st.UNSUCCESSFUL if phase == action.fail_phase else st.SUCCESS

        def done(status: int, rolled_back: bool) -> None:
            if rolled_back:
                record(trace.SwapPhase.ROLLBACK)
            record(trace.SwapPhase.DONE, status=status)
            if st.is_success(status):
                self.version = new
            on_done(status)

        record(trace.SwapPhase.REQUEST, endpoints=ids)
        if self.proxy is None:
            done(st.NOT_SUPPORTED, False)
            return
        self.proxy.register(self._endpoints(new, action.parameter_mismatch), callback, done,
                            swap_id=sid)

    def unload(self, on_done: Callable[[], None]) -> None:
        """DriverUnload as hsprobe does it: swap home, open the gate, then wake every live
        worker and return TRUE, then FALSE, alternately until its thread ends, which ends
        it under either convention. Gives up after UNLOAD_TIMEOUT (the real driver waits)."""
        k = self.k
        live = [w for w in self.workers.values() if w.alive]

        def stop(_: int = 0) -> None:
            self.set_gate(False)
            self.stopping = True
            deadline = k.sched.now + UNLOAD_TIMEOUT

            def round_() -> None:
                alive = [w for w in live if w.alive]
                if alive and k.sched.now < deadline:
                    for w in alive:
                        if not w.in_routine:
                            for i in range(len(w.events)):
                                self.signal(w.id, i)
                    k.sched.after(MS, round_)
                    return
                self.unloaded = True
                k.emit(trace.Unload, version=self.version, live_workers=len(live))
                on_done()

            round_()

        if self.version != 1 and self.proxy is not None:
            self.swap(Swap(to_version=1), stop)
        else:
            stop()
