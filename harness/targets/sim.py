"""The `sim` target: the hsprobe driver model on the simulated kernel (the embedded default).

Spec options (`SimOptions`): `feature=enabled|disabled|blocked`, `convention=documented|
inverted` (what the simulated kernel implements), `expect=documented|inverted` (what the run
expects; default: the same), `mutant=NAME[+NAME...]`, `drain_timeout_ms=N` (1..3600000),
`timing_slack_ms=X` (how late an effect may show), `clock=virtual|real`.

Time is virtual by default: `run` and `wait_for` advance the scheduler, and nothing sleeps.
With `clock=real` the model keeps pace with the wall clock (see harness.targets.clocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec

from harness import actions as act
from harness.contract import status as st
from harness.contract import trace
from harness.contract.clock import ms
from harness.contract.convention import Convention
from harness.contract.trace import Expectations, Record
from harness.errors import ConfigError, GuestCrashError
from harness.sim.driver import SimDriver
from harness.sim.kernel import SimKernel
from harness.sim.mutants import Mutant, parse_mutants
from harness.sim.scheduler import MS, SECOND
from harness.targets import Condition, Features, typed_options
from harness.targets.clocks import RealClock, VirtualClock

__all__ = ["SimOptions", "SimTarget"]


class SimOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The sim target's spec options; each documents its default."""

    feature: Literal["enabled", "disabled", "blocked"] = "enabled"
    """DriverProxy feature state of the simulated kernel (default enabled)."""
    convention: Convention = Convention.DOCUMENTED
    """Return-value convention the simulated kernel implements (default documented)."""
    expect: Convention | None = None
    """Convention the run expects (default: the one implemented)."""
    mutant: str = ""
    """Named kernel bugs, `+`-separated (default none)."""
    drain_timeout_ms: Annotated[int, msgspec.Meta(ge=1, le=3_600_000)] = 1000
    """How long a swap waits for calls in flight before failing (default 1000 ms)."""
    timing_slack_ms: Annotated[float, msgspec.Meta(gt=0, le=60_000)] | None = None
    """How late an effect may show after its cause (default 1 ms on virtual time, where the
    model's latencies are tens of microseconds; 100 ms on real time)."""
    clock: Literal["virtual", "real"] = "virtual"
    """`real`: the model keeps pace with the wall clock, and waiting polls (default virtual:
    time passes only when asked, at once)."""
    wait_cap_ms: Annotated[float, msgspec.Meta(gt=0, le=3_600_000)] | None = None
    """Longest virtual time one `wait_for` lets pass (default: as long as asked). Selftest
    caps it, so that a mutant that livelocks a worker stays cheap to simulate."""

    def __post_init__(self) -> None:
        parse_mutants(self.mutant)  # an unknown name fails here, with the known ones


class SimTarget:
    """A deterministic simulated kernel with the test driver loaded."""

    name = "sim"

    def __init__(
        self,
        *,
        seed: int = 0,
        mutants: frozenset[Mutant] = frozenset(),
        convention: Convention = Convention.DOCUMENTED,
        expect: Convention | None = None,
        feature: str = "enabled",
        drain_timeout: int = 1000 * MS,
        timing_slack: int = MS,
        wait_cap: int | None = None,
        expectations: Expectations | None = None,
        real_time: bool = False,
    ):
        self.kernel = SimKernel(
            seed=seed,
            mutants=mutants,
            convention=convention,
            feature=feature,
            drain_timeout=drain_timeout,
        )
        self.driver = SimDriver(self.kernel)
        self.driver.load()
        self.clock = (RealClock if real_time else VirtualClock)(self.kernel.sched)
        # the simulated kernel's timers tick every TICK and its wakes come within tens of
        # microseconds (virtual time) or the slack (real time): judge it with those bounds
        self.expectations = expectations or Expectations(
            convention=expect or convention, tick=self.kernel.tick, latency=timing_slack
        )
        self.timing_slack = timing_slack
        self.wait_cap = wait_cap
        self.mutants = mutants
        self.seed = seed
        self.description = f"sim feature={feature} convention={convention.value}" + (
            f" mutant={'+'.join(sorted(mutants))}" if mutants else ""
        )

    @classmethod
    def from_options(
        cls, options: dict[str, str], *, seed: int = 0, expectations: Expectations | None = None
    ) -> SimTarget:
        o = typed_options("sim", options, SimOptions)
        real = o.clock == "real"
        slack = o.timing_slack_ms if o.timing_slack_ms is not None else 100.0 if real else 1.0
        return cls(
            seed=seed,
            mutants=parse_mutants(o.mutant),
            feature=o.feature,
            convention=o.convention,
            expect=o.expect,
            drain_timeout=o.drain_timeout_ms * MS,
            timing_slack=round(slack * MS),
            wait_cap=None if o.wait_cap_ms is None else round(o.wait_cap_ms * MS),
            expectations=expectations,
            real_time=real,
        )

    # -- Target protocol --------------------------------------------------------------
    def probe(self) -> Features:
        self._alive()
        self.driver.probe()
        return Features(
            enabled=self.kernel.feature != "disabled",
            extension_status=self.driver.extension_status,
            build=self.description,
        )

    def do(self, action: act.Action) -> act.Outcome:
        self.clock.catch_up()
        self._alive()
        d = self.driver
        if isinstance(action, act.CreateWorker):
            out = d.create(action)
        elif isinstance(action, act.Signal):
            out = d.signal(action.worker, action.event)
        elif isinstance(action, act.Alert):
            out = d.alert(action.worker, action.user_apc)
        elif isinstance(action, act.Gate):
            d.set_gate(action.closed)
            out = act.Outcome(status=st.SUCCESS)
        elif isinstance(action, act.Swap):
            out = self._swap(action)
        elif isinstance(action, act.Unload):
            out = self._unload()
        elif isinstance(action, act.Mark):
            self.kernel.emit(trace.Mark, label=action.label)
            out = act.Outcome(status=st.SUCCESS)
        else:  # pragma: no cover - the Action union is closed
            raise ConfigError(f"the sim target does not know action {action!r}")
        self._alive()
        return out

    def _swap(self, action: act.Swap) -> act.Outcome:
        result: list[int] = []
        self.driver.swap(action, result.append)
        if action.wait:  # behind the swaps queued before it, each of which may drain
            queued = self.driver.queued_swaps + 1
            limit = self.kernel.sched.now + queued * self.kernel.drain_timeout + SECOND
            self.clock.advance(limit, stop=lambda: bool(result))
        return act.Outcome(status=result[0] if result else st.PENDING)

    def _unload(self) -> act.Outcome:
        done: list[bool] = []
        self.driver.unload(lambda: done.append(True))
        self.clock.advance(self.kernel.sched.now + 2 * SECOND, stop=lambda: bool(done))
        if not done:
            return act.Outcome(status=st.PENDING)
        # the model gives up on workers that never end; that unload did not succeed
        alive = any(w.alive for w in self.driver.workers.values())
        return act.Outcome(status=st.UNSUCCESSFUL if alive else st.SUCCESS)

    def run(self, duration: int) -> None:
        self.clock.catch_up()
        self._alive()
        self.clock.advance(self.kernel.sched.now + duration)
        self._alive()
        self._passed(f"ran {ms(duration)}")

    def _passed(self, label: str) -> None:
        """Mark the trace with how long time passed: what was due and never came by then
        is judged against it (docs/trace-format.md, "lost-wakeup")."""
        self.kernel.emit(trace.Mark, label=label)

    def wait_for(self, condition: Condition, timeout: int) -> bool:
        self.clock.catch_up()
        self._alive()
        records = self.kernel.records
        # the condition is re-evaluated only when a record was added, and its last answer
        # is kept: run_until asks again after stepping
        seen = [len(records), condition(records)]

        def holds() -> bool:
            if len(records) != seen[0]:
                seen[:] = [len(records), condition(records)]
            return bool(seen[1])

        if self.wait_cap is not None:
            timeout = min(timeout, self.wait_cap)
        if not seen[1]:
            self.clock.advance(self.kernel.sched.now + timeout, stop=holds)
        self._alive()
        if holds():
            return True
        self._passed(f"waited {ms(timeout)} for a condition that did not come")
        return False

    def records(self, since: int | None = None) -> Sequence[Record]:
        # the kernel numbers its records 1, 2, 3...: the one with seq S is at index S - 1
        records = self.kernel.records
        return records if since is None else records[max(since, 0) :]

    def close(self) -> None:
        self.kernel.breakpoints.clear()

    def _alive(self) -> None:
        crash = self.kernel.crash
        if crash is not None:
            code, text = crash
            raise GuestCrashError(
                f"the simulated kernel bug-checked: 0x{code:X} {text}", bugcheck=code
            )
