"""The fuzz loop: random programs on a target until the budget is spent or the checker
objects; a failing program is shrunk to a minimal one.

Why Hypothesis `@given` over whole programs, not its stateful machines: a program is a
value, so the one Hypothesis shrank is the one saved and replayed, by a runner that needs
no Hypothesis and on any target (a lab guest reverts once per program, not per step).
Hypothesis brings the search (its choice-sequence mutations) and its shrinker, which
deletes steps and simplifies fields until the failure disappears.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as seeded
from hypothesis.errors import Flaky

from harness.contract.trace import Expectations, Record
from harness.errors import ConfigError, HarnessError
from harness.fuzz.execute import Judged, judge
from harness.fuzz.generate import programs
from harness.fuzz.program import Program

__all__ = ["Budget", "Finding", "FuzzResult", "fuzz", "parse_budget"]

CHUNK = 100
"""Programs per Hypothesis run when the budget is a duration."""
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Budget:
    """How much to fuzz: a number of programs, or a wall-clock duration in seconds."""

    programs: int | None = None
    seconds: float | None = None


def parse_budget(text: str) -> Budget:
    """`500` (programs) or `30s`, `5m`, `1h` (wall-clock time)."""
    m = re.fullmatch(r"\s*(\d+)\s*([smh]?)\s*", text)
    if not m or int(m.group(1)) < 1:
        raise ConfigError(f"budget {text!r}: give a number of programs (e.g. 500) or a "
                          "duration (e.g. 30s, 5m, 1h), at least 1")
    count, unit = int(m.group(1)), m.group(2)
    return Budget(seconds=count * _UNITS[unit]) if unit else Budget(programs=count)


@dataclass
class Finding:
    """A failing program (shrunk unless shrinking was off), and what it showed."""

    program: Program
    judged: Judged
    records: Sequence[Record]
    expectations: Expectations
    reproduced: bool = True
    """False when the shrunk program did not fail again on replay (a flaky target)."""


@dataclass
class FuzzResult:
    programs: int = 0
    seconds: float = 0.0
    finding: Finding | None = None
    first: Finding | None = None
    """The first failing program as generated, before shrinking."""
    shrink_runs: int = field(default=0)


class _Found(Exception):
    """Raised inside the Hypothesis test to mark a program as failing."""


class _Abort(BaseException):
    """Carries a harness error (a broken target, a bad spec) out of Hypothesis at once: a
    BaseException, so that Hypothesis neither shrinks it nor counts it as a finding."""

    def __init__(self, error: HarnessError):
        super().__init__(str(error))
        self.error = error


def _search(spec: str, result: FuzzResult, *, examples: int, seed: int, shrink: bool,
            disabled: Sequence[str],
            on_progress: Callable[[int, int], None] | None) -> None:
    """One Hypothesis run of up to `examples` programs; fills `result.finding`."""
    found: list[Finding] = []

    @settings(max_examples=examples, database=None, deadline=None, print_blob=False,
              verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False,
              phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate])
    @seeded(seed)
    @given(programs())
    def attempt(program: Program) -> None:
        try:
            judged, records, expectations = judge(spec, program, disabled=disabled)
        except HarnessError as e:
            raise _Abort(e) from e
        if found:
            result.shrink_runs += 1
        else:
            result.programs += 1
        if on_progress:
            on_progress(result.programs, result.shrink_runs)
        if judged.failed:
            # keep the first (as generated) and the latest (the smallest so far) only
            found[1:] = [Finding(program, judged, records, expectations)]
            if len(found) == 1:
                found.append(found[0])
            raise _Found(judged.summary())

    try:
        attempt()
    except _Found:
        pass
    except _Abort as a:
        raise a.error from None
    except Flaky:
        if found:
            found[-1].reproduced = False
    if found:
        result.first = found[0]
        result.finding = found[-1]


def fuzz(spec: str, budget: Budget, *, seed: int = 0, shrink: bool = True,
         disabled: Sequence[str] = (),
         on_progress: Callable[[int, int], None] | None = None) -> FuzzResult:
    """Random programs on `spec` until `budget` is spent or one fails (then shrink it)."""
    result = FuzzResult()
    start = time.monotonic()
    if budget.programs is not None:
        _search(spec, result, examples=budget.programs, seed=seed, shrink=shrink,
                disabled=disabled, on_progress=on_progress)
    else:
        deadline = start + (budget.seconds or 0)
        chunk = 0
        while result.finding is None and time.monotonic() < deadline:
            _search(spec, result, examples=CHUNK, seed=seed + chunk, shrink=shrink,
                    disabled=disabled, on_progress=on_progress)
            chunk += 1
    result.seconds = time.monotonic() - start
    return result
