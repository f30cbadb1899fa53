"""What a scenario holds: the target, an optional debugger, and short verbs over actions.

Scenarios speak in these verbs so that each reads as the experiment it is; every verb is
one `Target.do` action, so a scenario runs unchanged on the simulator and on a real guest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from harness import actions as act
from harness.contract import status as st
from harness.contract import trace
from harness.contract.check import Violation, check
from harness.contract.convention import Convention
from harness.contract.startctx import StartContext
from harness.debug import Debugger
from harness.errors import ContractViolationError, NotApplicableError
from harness.targets import Features, Target

__all__ = ["Scenario"]

R = TypeVar("R", bound=trace.Record)
MS = 10_000


class Scenario:
    """One scenario's view of its target, debugger and trace."""

    def __init__(self, target: Target, *, debugger_factory: Callable[[], Debugger] | None,
                 disabled_invariants: tuple[str, ...] = ()):
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

    def create(self, context: StartContext | None = None, *, behaviour: act.Behaviour | None = None,
               endpoint: int = 1, free_context: bool = True) -> act.Outcome:
        return self.target.do(act.CreateWorker(
            context=context or StartContext(), behaviour=behaviour or self.continuing(),
            endpoint=endpoint, free_context=free_context))

    def worker(self, context: StartContext | None = None, **kw: Any) -> int:
        """Create a worker that must succeed; its id."""
        out = self.create(context, **kw)
        assert out.status == st.SUCCESS and out.worker is not None, (
            f"creating a worker with a valid start context returned {st.name(out.status)}")
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

    def run(self, ms: float) -> None:
        self.target.run(int(ms * MS))

    # -- the trace ----------------------------------------------------------------------
    def records(self, kind: type[R], **where: Any) -> list[R]:
        """Records of one kind whose fields match `where`."""
        return [r for r in self.target.records()
                if isinstance(r, kind) and all(getattr(r, k) == v for k, v in where.items())]

    def calls(self, worker: int) -> list[trace.Enter]:
        return self.records(trace.Enter, worker=worker)

    def exited(self, worker: int) -> bool:
        return bool(self.records(trace.ThreadExit, worker=worker))

    def collect(self) -> list[Violation]:
        """Judge the whole trace against the contract; the violations found."""
        self.violations = check(self.target.records(), self.target.expectations,
                                disabled=self.disabled_invariants)
        return self.violations

    def check(self) -> None:
        """Judge the whole trace against the contract; raise on any violation."""
        if self.collect():
            first = self.violations[0]
            more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
            raise ContractViolationError(f"{first.invariant}: {first.message}{more}",
                                         self.violations)

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
