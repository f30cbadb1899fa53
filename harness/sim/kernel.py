"""The simulated kernel: virtual time, threads, the trace, feature gating, bug checks, and
the create call with its parameter rules. Deterministic: one seed, one byte-identical trace.

This is a model of the documented contract (docs/driverproxy.md), not Windows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from harness.contract import status as st
from harness.contract import trace
from harness.contract.convention import Convention
from harness.contract.startctx import Routine as RoutineKind
from harness.contract.startctx import StartContext, create_status
from harness.sim.mutants import Mutant
from harness.sim.proxy import ProxyExtension, Wrapper
from harness.sim.scheduler import MS, Scheduler
from harness.sim.waits import KEvent
from harness.sim.worker import Routine, SimThread, Worker

__all__ = ["FEATURES", "Break", "SimKernel"]

#: feature state -> what IoCreateDriverProxyExtension returns
FEATURES = {
    "enabled": st.SUCCESS,
    "disabled": st.NOT_SUPPORTED,
    "blocked": st.DRIVER_BLOCKED,
}


class Break:
    """The whole simulated machine stopped at a breakpoint."""

    def __init__(self, bp: int, symbol: str, thread: SimThread, resume: Callable[[], None]):
        self.bp = bp
        self.symbol = symbol
        self.thread = thread
        self.resume = resume


class SimKernel:
    def __init__(self, *, seed: int = 0, mutants: frozenset[Mutant] = frozenset(),
                 convention: Convention = Convention.DOCUMENTED, feature: str = "enabled",
                 drain_timeout: int = 1000 * MS):
        if feature not in FEATURES:
            raise ValueError(f"feature must be one of {', '.join(FEATURES)}, not {feature!r}")
        self.sched = Scheduler()
        self.rng = random.Random(seed)
        self.mutants = mutants
        self.convention = convention
        self.feature = feature
        self.drain_timeout = drain_timeout
        self.records: list[trace.Record] = []
        self.crash: tuple[int, str] | None = None
        self.breakpoints: dict[int, str] = {}
        self.stopped: Break | None = None
        self.thread_exit_hooks: list[Callable[[Worker], None]] = []
        self.workers: list[Worker] = []
        self.memory: dict[int, int] = {}
        """Byte-addressed memory a debugger reads and writes (sparse)."""
        self._seq = 0
        self._deliveries = 0
        self._next_tid = 0x1000 + 4 * self.rng.randrange(0, 256)

    # -- plumbing ---------------------------------------------------------------------
    def has(self, mutant: Mutant) -> bool:
        return mutant in self.mutants

    def emit(self, kind: Any, **fields: Any) -> None:
        """Append a trace record stamped with the next seq and the current time."""
        self._seq += 1
        self.records.append(kind(seq=self._seq, t=self.sched.now, **fields))

    def latency(self) -> int:
        """Scheduling latency of a woken thread: 2 to 40 microseconds."""
        return self.rng.randrange(20, 400)

    def new_thread(self) -> SimThread:
        self._next_tid += 4 * self.rng.randrange(1, 8)
        obj = 0xFFFF_A000_0000_0000 | (self.rng.randrange(0x10000, 0x7FFFF) << 12)
        return SimThread(self._next_tid, obj | 0x080)

    def _drop_wakeup(self) -> bool:
        self._deliveries += 1
        return self._deliveries % 3 == 0

    def bugcheck(self, code: int, text: str) -> None:
        """Stop the machine as KeBugCheckEx would."""
        if self.crash is None:
            self.crash = (code, text)
        self.sched.frozen = True

    # -- DriverProxy calls --------------------------------------------------------------
    def create_extension(self) -> tuple[int, ProxyExtension | None]:
        status = FEATURES[self.feature]
        return status, (ProxyExtension(self) if status == st.SUCCESS else None)

    def create_worker(self, proxy: ProxyExtension | None, ctx: StartContext,
                      wrapper: Wrapper | None, events: list[KEvent], routine: Routine,
                      context_alive: Callable[[], bool], wid: int) -> Worker | int:
        """IoDriverProxyCreateHotSwappableWorkerThread: the new worker or a failure status."""
        if proxy is None:
            return st.NOT_SUPPORTED
        bad = create_status(ctx)
        if (bad is not None and self.has(Mutant.BAD_PARAMETERS_ACCEPTED)
                and ctx.routine is not RoutineKind.NULL and ctx.event_count > 0):
            bad = None
        if ctx.routine is RoutineKind.RAW and self.has(Mutant.RAW_ROUTINE_ACCEPTED):
            bad = None
        if bad is not None:
            return bad
        if wrapper is None:
            return st.INVALID_PARAMETER
        if self.has(Mutant.LOST_WAKEUP):
            for ev in events:
                ev.drop = self._drop_wakeup
        worker = Worker(self, wid, ctx, events, proxy, wrapper, routine, context_alive)
        self.workers.append(worker)
        worker.start()
        return worker

    def switched(self, swap: int, old: int, new: int, endpoints: list[int]) -> None:
        """The proxy changed its pointers: only the kernel sees this instant."""
        self.emit(trace.Swap, swap=swap, phase=trace.SwapPhase.SWITCH, from_version=old,
                  to_version=new, endpoints=tuple(endpoints))
        if self.has(Mutant.SWAP_RECREATES_THREAD):
            for w in self.workers:
                if w.alive and w.wrapper.id in endpoints:
                    w.recreate_thread()

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
