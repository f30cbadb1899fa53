"""The simulated kernel: its two clocks, threads, the trace, feature gating, bug checks, and
the create call with its parameter rules. Deterministic: one seed, one byte-identical trace.

This is a model of the documented contract (docs/driverproxy.md, and the wait as
docs/trace-format.md describes it), not Windows. It implements the rules on its own and
shares no validation code with the checker: an error in the checker's rules must not hide
behind the same error here.

The scheduler's clock is interrupt time (it never goes back); system time is interrupt time
plus an offset that `step_clock` moves, as a clock adjustment does. Relative timeouts run on
interrupt time, absolute ones on system time. Timers expire on clock ticks, and the due time
of a relative timeout is computed from the tick-updated interrupt time, so it may fire up to
one tick early on the precise clock, as on Windows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

from harness.contract import status as st
from harness.contract import trace
from harness.contract.clock import MS, SECOND
from harness.contract.convention import Convention
from harness.contract.startctx import Routine as RoutineKind
from harness.contract.startctx import StartContext
from harness.sim.mutants import Mutant
from harness.sim.proxy import Endpoint, ProxyExtension, Wrapper
from harness.sim.scheduler import EPOCH, Scheduler
from harness.sim.waits import KEvent, MultiWait, SimThread
from harness.sim.worker import Routine, Worker

__all__ = ["FEATURES", "LATENCY", "TICK", "Break", "SimKernel", "parameter_status"]

#: feature state -> what IoCreateDriverProxyExtension returns
FEATURES = {
    "enabled": st.SUCCESS,
    "disabled": st.NOT_SUPPORTED,
    "blocked": st.DRIVER_BLOCKED,
}
TICK: Final = MS
"""The simulated clock tick: 1 ms, as with a raised timer resolution."""
LATENCY: Final = MS
"""What the simulated kernel is expected to honour between a due wake and the routine's entry
(it schedules a woken thread within 40 us; 1 ms leaves room for the routine's own work)."""
BOOT: Final = 30 * SECOND
"""Interrupt time when the driver loads (the machine has been up 30 s)."""
_WAIT_MODES: Final = (0, 1)
_WAIT_TYPES: Final = (0, 1)
_WAIT_REASONS: Final = 44  # KWAIT_REASON has MaximumWaitReason values
_WAIT_BUGS: Final = frozenset(
    {
        Mutant.SYNC_EVENT_NOT_RESET,
        Mutant.WAIT_ALL_RETURNS_INDEX,
        Mutant.WAIT_ALL_ANY,
        Mutant.TIMEOUT_REPORTS_INDEX,
    }
)
_THREAD_BUGS: Final = frozenset(
    {
        Mutant.ALERT_NOT_CLEARED,
        Mutant.ALERT_AS_USER_APC,
        Mutant.ALERT_WAKES_UNALERTABLE,
    }
)


class Break:
    """The whole simulated machine stopped at a breakpoint."""

    def __init__(self, bp: int, symbol: str, thread: SimThread, resume: Callable[[], None]):
        self.bp = bp
        self.symbol = symbol
        self.thread = thread
        self.resume = resume


def parameter_status(ctx: StartContext, max_events: int = st.MAXIMUM_WAIT_OBJECTS) -> int | None:
    """What the create call answers to `ctx` before making anything: INVALID_PARAMETER for a
    NULL or raw routine, an EventCount of 0 or above `max_events`, an unknown WaitType,
    WaitMode or WaitReason; None for a valid context (the reference, section 1)."""
    bad = (
        ctx.routine is not RoutineKind.WRAPPER
        or not 0 < len(ctx.events) <= max_events
        or ctx.wait_type not in _WAIT_TYPES
        or ctx.wait_mode not in _WAIT_MODES
        or ctx.wait_reason >= _WAIT_REASONS
    )
    return st.INVALID_PARAMETER if bad else None


class SimKernel:
    def __init__(
        self,
        *,
        seed: int = 0,
        mutants: frozenset[Mutant] = frozenset(),
        convention: Convention = Convention.DOCUMENTED,
        feature: str = "enabled",
        drain_timeout: int = 1000 * MS,
        tick: int = TICK,
    ):
        if feature not in FEATURES:
            raise ValueError(f"feature must be one of {', '.join(FEATURES)}, not {feature!r}")
        self.sched = Scheduler(start=BOOT)
        self.rng = random.Random(seed)
        self.mutants = mutants
        self.convention = convention
        self.feature = feature
        self.drain_timeout = drain_timeout
        self.tick = tick
        self.clock = EPOCH - BOOT
        """System time minus interrupt time; a clock adjustment moves it."""
        self.records: list[trace.Record] = []
        self.crash: tuple[int, str] | None = None
        self.breakpoints: dict[int, str] = {}
        self.stopped: Break | None = None
        self.thread_exit_hooks: list[Callable[[Worker], None]] = []
        self.workers: list[Worker] = []
        self.memory: dict[int, int] = {}
        """Byte-addressed memory a debugger reads and writes (sparse)."""
        self._wait_bugs = frozenset(m.value for m in mutants if m in _WAIT_BUGS)
        self._thread_bugs = frozenset(m.value for m in mutants if m in _THREAD_BUGS)
        self._seq = 0
        self._deliveries = 0
        self._next_tid = 0x1000 + 4 * self.rng.randrange(0, 256)

    # -- plumbing ---------------------------------------------------------------------
    def has(self, mutant: Mutant) -> bool:
        return mutant in self.mutants

    @property
    def system_time(self) -> int:
        return self.sched.now + self.clock

    def emit(self, kind: Any, **fields: Any) -> None:
        """Append a trace record stamped with the next seq and both clocks."""
        self._seq += 1
        now = self.sched.now
        self.records.append(kind(seq=self._seq, t=now + self.clock, it=now, **fields))

    def latency(self) -> int:
        """Scheduling latency of a woken thread: 2 to 40 microseconds."""
        return self.rng.randrange(20, 400)

    def new_thread(self) -> SimThread:
        self._next_tid += 4 * self.rng.randrange(1, 8)
        obj = 0xFFFF_A000_0000_0000 | (self.rng.randrange(0x10000, 0x7FFFF) << 12)
        return SimThread(self._next_tid, obj | 0x080, bugs=self._thread_bugs)

    def _drop_wakeup(self) -> bool:
        self._deliveries += 1
        return self._deliveries % 3 == 0

    def bugcheck(self, code: int, text: str) -> None:
        """Stop the machine as KeBugCheckEx would."""
        if self.crash is None:
            self.crash = (code, text)
        self.sched.frozen = True

    # -- time -------------------------------------------------------------------------
    def _on_tick(self, when: int) -> int:
        """The first clock tick at or after `when`: timers expire on ticks."""
        return -(-when // self.tick) * self.tick if self.tick else when

    def deadline(self, timeout: int | None) -> int | None:
        """Interrupt time a wait with `timeout` times out at (None: never)."""
        if timeout is None or self.has(Mutant.TIMEOUT_NEVER_FIRES):
            return None
        now = self.sched.now
        if timeout > 0 and self.has(Mutant.ABSOLUTE_AS_RELATIVE):
            return self._on_tick(now + timeout)
        if timeout > 0:
            return self._on_tick(timeout - self.clock)
        if timeout == 0:
            return now
        interval = -timeout
        if self.has(Mutant.EARLY_TIMEOUT):
            interval //= 2
        if self.has(Mutant.SLOW_TIMEOUT):
            interval *= 3
        coarse = now - now % self.tick if self.tick else now  # the tick-updated clock
        return self._on_tick(coarse + interval)

    def step_clock(self, delta: int) -> None:
        """Set the system clock `delta` later (earlier when negative): absolute timeouts
        move with it, relative ones do not."""
        self.clock += delta
        for w in self.workers:
            wait = w.thread.wait
            if wait is not None and (w.ctx.timeout or 0) > 0:
                new = self.deadline(w.ctx.timeout)
                if new is not None:
                    wait.rearm(new)

    def wait(
        self,
        thread: SimThread,
        events: list[KEvent],
        ctx: StartContext,
        on_done: Callable[[int], None],
    ) -> MultiWait:
        """KeWaitForMultipleObjects with the start context's parameters."""
        wait = MultiWait(
            self.sched,
            thread,
            events,
            wait_type=ctx.wait_type,
            wait_mode=ctx.wait_mode,
            alertable=ctx.alertable,
            deadline=self.deadline(ctx.timeout),
            on_done=on_done,
            highest_index=self.has(Mutant.WRONG_WAIT_INDEX),
            bugs=self._wait_bugs,
        )
        wait.start()
        return wait

    # -- DriverProxy calls --------------------------------------------------------------
    def create_extension(self) -> tuple[int, ProxyExtension | None]:
        status = FEATURES[self.feature]
        return status, (ProxyExtension(self) if status == st.SUCCESS else None)

    def create_worker(
        self,
        proxy: ProxyExtension,
        ctx: StartContext,
        wrapper: Wrapper | None,
        events: list[KEvent],
        routine: Routine,
        context_alive: Callable[[], bool],
        wid: int,
    ) -> Worker | int:
        """IoDriverProxyCreateHotSwappableWorkerThread: the new worker or a failure status."""
        bad = parameter_status(ctx)
        if (
            bad is not None
            and self.has(Mutant.BAD_PARAMETERS_ACCEPTED)
            and ctx.routine is not RoutineKind.NULL
            and ctx.events
        ):
            bad = None
        if ctx.routine is RoutineKind.RAW and self.has(Mutant.RAW_ROUTINE_ACCEPTED):
            bad = None
        if bad is not None or wrapper is None:
            if self.has(Mutant.FAILED_CREATE_RUNS) and proxy.wrappers:
                # the thread starts anyway, on a context whose worker id the driver never set
                runs_on = wrapper or next(iter(proxy.wrappers.values()))
                self.start_worker(
                    Worker(
                        self, 0, ctx, events, routine, context_alive, proxy=proxy, wrapper=runs_on
                    )
                )
            return st.INVALID_PARAMETER
        return self.start_worker(
            Worker(self, wid, ctx, events, routine, context_alive, proxy=proxy, wrapper=wrapper)
        )

    def start_worker(self, worker: Worker) -> Worker:
        for ev in worker.events:
            if self.has(Mutant.LOST_WAKEUP):
                ev.drop = self._drop_wakeup
            ev.pulse = self.has(Mutant.SET_NEEDS_WAITER)
        self.workers.append(worker)
        worker.start()
        return worker

    def fallback_worker(
        self,
        wid: int,
        ctx: StartContext,
        events: list[KEvent],
        routine: Routine,
        endpoint: Endpoint,
    ) -> Worker:
        """PsCreateSystemThread running the driver's own loop: the routine called directly."""
        return self.start_worker(
            Worker(self, wid, ctx, events, routine, lambda: True, direct=endpoint)
        )

    def switched(self, swap: int, old: int, new: int, endpoints: list[int]) -> None:
        """The proxy changed its pointers: only the kernel sees this instant."""
        self.emit(
            trace.Swap,
            swap=swap,
            phase=trace.SwapPhase.SWITCH,
            from_version=old,
            to_version=new,
            endpoints=tuple(endpoints),
        )
        for w in self.workers:
            if w.alive and w.wrapper is not None and w.wrapper.id in endpoints:
                if self.has(Mutant.SWAP_RECREATES_THREAD):
                    w.recreate_thread()
                elif self.has(Mutant.SWAP_MOVES_THREAD):
                    w.thread = self.new_thread()  # no exit, no notification: it just moves

    def thread_exited(self, worker: Worker) -> None:
        for hook in self.thread_exit_hooks:
            hook(worker)

    # -- debugger ---------------------------------------------------------------------
    def breakpoint_hit(self, thread: SimThread, symbol: str, body: Callable[[], None]) -> bool:
        """Stop the machine if a breakpoint is set on `symbol`; `body` runs on resume."""
        for bp, where in self.breakpoints.items():
            if where == symbol:
                self.stopped = Break(bp, symbol, thread, body)
                self.sched.frozen = True
                return True
        return False

    def resume(self) -> None:
        stop, self.stopped = self.stopped, None
        if stop is not None and self.crash is None:
            self.sched.frozen = False
            stop.resume()
