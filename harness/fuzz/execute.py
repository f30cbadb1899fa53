"""Running a scenario program on any target, with the contract checker as the oracle.

`perform` drives the steps through the `Target` protocol; `judge` opens a target, runs a
program, and says what was found: contract violations, or a crash. A saved program
replays through `perform` (`harness run --program FILE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from harness import actions as act
from harness.contract.check import Violation, check
from harness.contract.clock import MS
from harness.contract.convention import Convention
from harness.contract.trace import Expectations, Record
from harness.errors import GuestCrashError
from harness.fuzz.program import Alert, Create, Pause, Program, Signal, Step
from harness.targets import Target, open_target

__all__ = ["EPILOGUE_MS", "MAX_RECORDS", "Judged", "judge", "perform"]

NO_WORKER: Final = 0
"""The id a reference to a failed or future create becomes: no target hands it out."""
EPILOGUE_MS: Final = 50.0
"""After the last step the gate opens and this much time passes, so that what the program
set in motion (held calls, pending swaps, timeouts) finishes or visibly fails to."""
MAX_RECORDS: Final = 50_000
"""A program stops early past this many records (a worker polling in a loop), and its
trace is judged as it is."""


class Judged(msgspec.Struct, kw_only=True):
    """What one run of a program showed."""

    violations: list[Violation]
    crash: str | None = None
    records: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.violations) or self.crash is not None

    def summary(self) -> str:
        if self.crash is not None:
            return f"crash: {self.crash}"
        first = self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        return f"{first.invariant}: {first.message}{more}"


class _Run:
    """One program in progress on one target: the worker ids its creates got."""

    def __init__(self, target: Target):
        self.target = target
        self.convention = target.expectations.convention or Convention.DOCUMENTED
        self.workers: list[int] = []
        self.unloaded = False

    def worker(self, ordinal: int) -> int:
        return self.workers[ordinal - 1] if ordinal <= len(self.workers) else NO_WORKER

    def step(self, step: Step) -> None:
        t = self.target
        if isinstance(step, Create):
            out = t.do(self._create(step))
            self.workers.append(out.worker if out.worker is not None else NO_WORKER)
        elif isinstance(step, Signal):
            t.do(act.Signal(self.worker(step.worker), step.event))
        elif isinstance(step, Alert):
            t.do(act.Alert(self.worker(step.worker), step.user_apc))
        elif isinstance(step, Pause):
            t.run(round(step.ms * MS))
        else:
            t.do(step)
            self.unloaded |= isinstance(step, act.Unload)

    def _create(self, step: Create) -> act.CreateWorker:
        context = step.context
        if step.deadline_ms is not None:
            records = self.target.records()
            now = records[-1].t if records else 0
            context = msgspec.structs.replace(context, timeout=now + round(step.deadline_ms * MS))
        return act.CreateWorker(
            context=context,
            behaviour=step.routine.behaviour(self.convention),
            endpoint=step.endpoint,
            free_context=step.free_context,
        )


def perform(target: Target, program: Program) -> None:
    """Run `program`'s steps on an opened (and probed) target, then the epilogue."""
    run = _Run(target)
    for step in program.steps:
        if run.unloaded:
            break  # nothing is left to act on, on any target
        run.step(step)
        if len(target.records()) > MAX_RECORDS:
            return
    if not run.unloaded:
        target.do(act.Gate(closed=False))
        target.run(round(EPILOGUE_MS * MS))
        target.do(act.Mark("end of program"))


def judge(
    spec: str,
    program: Program,
    *,
    expectations: Expectations | None = None,
    disabled: Sequence[str] = (),
) -> tuple[Judged, Sequence[Record], Expectations]:
    """Open the target `spec` names, run `program` on it, and check the trace."""
    target = open_target(spec, seed=program.seed, expectations=expectations)
    crash = None
    try:
        try:
            target.probe()
            perform(target, program)
        except GuestCrashError as e:
            crash = str(e)
        records = list(target.records())
    finally:
        target.close()
    found = Judged(
        violations=check(records, target.expectations, disabled=disabled),
        crash=crash,
        records=len(records),
    )
    return found, records, target.expectations
