"""What a scenario holds: the target, an optional debugger, and short verbs over actions.

Scenarios speak in these verbs so that each reads as the experiment it is; every verb is
one `Target.do` action, so a scenario runs unchanged on the simulator and on a real guest.
After an action a scenario waits for the records that show its effect (`wait_for_calls`,
`wait_for_exit`, `wait_for_record`), with generous timeouts, never for a duration: the same
scenario holds on virtual time and on real time. Time is let pass explicitly (`run`) only
where the contract is about time, and `settle` gives an effect that must *not* happen the
target's timing slack to show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from harness import actions as act
from harness.contract import status as st
from harness.contract import trace
from harness.contract.check import Violation, check
from harness.contract.clock import MS
from harness.contract.convention import Convention
from harness.contract.startctx import StartContext
from harness.debug import Debugger
from harness.errors import ContractViolationError, NotApplicableError
from harness.targets import Features, Target

__all__ = ["MS", "WAIT_MS", "Scenario"]

R = TypeVar("R", bound=trace.Record)
WAIT_MS = 10_000
"""How long a scenario waits for an effect before calling it missing: far beyond any
latency a correct kernel shows, so only a kernel that never delivers waits this long."""


class _Tally:
    """A condition over new records only: counts those matching `match`, so that waiting on
    a long trace stays linear."""

    def __init__(self, match: Callable[[trace.Record], bool], want: int):
        self.match = match
        self.want = want
        self.seen = 0
        self.count = 0

    def __call__(self, records: Sequence[trace.Record]) -> bool:
        for r in records[self.seen :]:
            self.count += self.match(r)
        self.seen = len(records)
        return self.count >= self.want


class Scenario:
    """One scenario's view of its target, debugger and trace."""

    def __init__(
        self,
        target: Target,
        *,
        debugger_factory: Callable[[], Debugger] | None,
        disabled_invariants: tuple[str, ...] = (),
    ):
        self.target = target
        self._debugger_factory = debugger_factory
        self._debugger: Debugger | None = None
        self.disabled_invariants = disabled_invariants
        self.facts: dict[str, str] = {}
        self.violations: list[Violation] = []
        self.features: Features = target.probe()

    # -- conventions --------------------------------------------------------------------
    @property
    def convention(self) -> Convention:
        """The convention this run expects the kernel to implement (documented if unset)."""
        return self.target.expectations.convention or Convention.DOCUMENTED

    def continuing(self, **kw: Any) -> act.Behaviour:
        """A routine that always asks its thread to keep running."""
        return act.Behaviour(returns=self.convention.value_to_continue(), **kw)

    def ending(self, on: int) -> act.Behaviour:
        """A routine that keeps its thread running, except that it asks to end on `on`."""
        c = self.convention
        return act.Behaviour(returns=c.value_to_continue(), returns_on=((on, c.value_to_end()),))

    # -- verbs --------------------------------------------------------------------------
    def require_feature(self) -> None:
        if not self.features.enabled or self.features.extension_status != st.SUCCESS:
            raise NotApplicableError(
                "DriverProxy is not available on this target (extension status "
                f"{st.name(self.features.extension_status)}); the feature state is recorded"
            )

    def create(
        self,
        context: StartContext | None = None,
        *,
        behaviour: act.Behaviour | None = None,
        endpoint: int = 1,
        free_context: bool = True,
    ) -> act.Outcome:
        return self.target.do(
            act.CreateWorker(
                context=context or StartContext(),
                behaviour=behaviour or self.continuing(),
                endpoint=endpoint,
                free_context=free_context,
            )
        )

    def worker(self, context: StartContext | None = None, **kw: Any) -> int:
        """Create a worker that must succeed; its id."""
        out = self.create(context, **kw)
        assert out.status == st.SUCCESS and out.worker is not None, (
            f"creating a worker with a valid start context returned {st.name(out.status)}"
        )
        return out.worker

    def signal(self, worker: int, event: int = 0) -> None:
        self.target.do(act.Signal(worker, event))

    def alert(self, worker: int, *, user_apc: bool = False) -> None:
        self.target.do(act.Alert(worker, user_apc))

    def gate(self, *, closed: bool) -> None:
        self.target.do(act.Gate(closed))

    def swap(self, to_version: int, **kw: Any) -> int:
        return self.target.do(act.Swap(to_version=to_version, **kw)).status

    def unload(self) -> int:
        return self.target.do(act.Unload()).status

    # -- time ---------------------------------------------------------------------------
    @property
    def slack(self) -> int:
        """The target's timing slack (100 ns): how late an effect may show after its cause."""
        return self.target.timing_slack

    def run(self, ms: float) -> None:
        """Let `ms` pass: only where the contract is about time (timeouts)."""
        self.target.run(round(ms * MS))

    def settle(self) -> None:
        """Let the target's timing slack pass, so that an effect that must not happen (a
        wake before WaitAll is satisfied, a call after the thread ended) would have shown."""
        self.target.run(self.slack)

    def wait_for(
        self, match: Callable[[trace.Record], bool], count: int = 1, *, timeout_ms: float = WAIT_MS
    ) -> bool:
        """Wait until `count` records match; False when the timeout passed first."""
        return self.target.wait_for(_Tally(match, count), round(timeout_ms * MS))

    def wait_for_calls(
        self, worker: int, count: int, *, timeout_ms: float = WAIT_MS
    ) -> list[trace.Enter]:
        """Wait until `worker`'s routine has been entered `count` times; every call so far."""
        self.wait_for(
            lambda r: isinstance(r, trace.Enter) and r.worker == worker,
            count,
            timeout_ms=timeout_ms,
        )
        return self.calls(worker)

    def wait_for_returns(self, worker: int, count: int, *, timeout_ms: float = WAIT_MS) -> bool:
        """Wait until `worker`'s routine has returned `count` times."""
        return self.wait_for(
            lambda r: isinstance(r, trace.Exit) and r.worker == worker, count, timeout_ms=timeout_ms
        )

    def wait_for_exit(self, worker: int, *, timeout_ms: float = WAIT_MS) -> bool:
        """Wait until `worker`'s thread has ended; False when it did not within the timeout."""
        return self.wait_for(
            lambda r: isinstance(r, trace.ThreadExit) and r.worker == worker, timeout_ms=timeout_ms
        )

    def wait_for_record(
        self, kind: type[R], *, timeout_ms: float = WAIT_MS, **where: Any
    ) -> R | None:
        """Wait for the first record of `kind` whose fields match `where`; None if none came."""

        def match(r: trace.Record) -> bool:
            return isinstance(r, kind) and all(getattr(r, k) == v for k, v in where.items())

        self.wait_for(match, timeout_ms=timeout_ms)
        found = self.records(kind, **where)
        return found[0] if found else None

    # -- the trace ----------------------------------------------------------------------
    def records(self, kind: type[R], **where: Any) -> list[R]:
        """Records of one kind whose fields match `where`."""
        return [
            r
            for r in self.target.records()
            if isinstance(r, kind) and all(getattr(r, k) == v for k, v in where.items())
        ]

    def calls(self, worker: int) -> list[trace.Enter]:
        return self.records(trace.Enter, worker=worker)

    def exited(self, worker: int) -> bool:
        return bool(self.records(trace.ThreadExit, worker=worker))

    def last_seq(self) -> int:
        """The seq of the newest record (0 before any)."""
        records = self.target.records()
        return records[-1].seq if records else 0

    def collect(self) -> list[Violation]:
        """Judge the whole trace against the contract; the violations found."""
        self.violations = check(
            self.target.records(), self.target.expectations, disabled=self.disabled_invariants
        )
        return self.violations

    def check(self) -> None:
        """Judge the whole trace against the contract; raise on any violation."""
        if self.collect():
            first = self.violations[0]
            more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
            raise ContractViolationError(
                f"{first.invariant}: {first.message}{more}", self.violations
            )

    # -- debugger -----------------------------------------------------------------------
    @property
    def debugger(self) -> Debugger:
        if self._debugger is None:
            if self._debugger_factory is None:
                raise NotApplicableError("this scenario needs a kernel debugger; pass --debugger")
            self._debugger = self._debugger_factory()
        return self._debugger

    def close(self) -> None:
        if self._debugger is not None:
            self._debugger.detach()
        self.target.close()
