"""The fuzz loop: random programs on a target until the budget is spent or the checker
objects; a failing program is shrunk to a minimal one that fails the same way.

Program `i` of a run with seed `S` comes from `random.Random(f"{S}/{i}")`: the same seed
gives the same programs, on any machine, whatever ran before.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.contract.trace import Expectations, Record
from harness.errors import ConfigError
from harness.fuzz.execute import Judged, judge
from harness.fuzz.generate import generate
from harness.fuzz.program import Program
from harness.fuzz.shrink import shrink

__all__ = ["Budget", "Finding", "FuzzResult", "fuzz", "parse_budget"]

MAX_SHRINK_RUNS = 1000
"""Runs the shrinker may spend on one finding."""
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
        raise ConfigError(
            f"budget {text!r}: give a number of programs (e.g. 500) or a "
            "duration (e.g. 30s, 5m, 1h), at least 1"
        )
    count, unit = int(m.group(1)), m.group(2)
    return Budget(seconds=count * _UNITS[unit]) if unit else Budget(programs=count)


@dataclass
class Finding:
    """A failing program, and what it showed."""

    program: Program
    judged: Judged
    records: Sequence[Record]
    expectations: Expectations
    reproduced: bool = True
    """False when the shrunk program did not fail again on replay (a flaky target)."""


@dataclass
class FuzzResult:
    programs: int = 0
    """Programs generated and run (shrinking runs not counted)."""
    seconds: float = 0.0
    """Wall time spent generating and running them (shrinking not counted)."""
    shrink_seconds: float = 0.0
    finding: Finding | None = None
    """The failing program, shrunk unless shrinking was off."""
    first: Finding | None = None
    """The failing program as generated."""
    shrink_runs: int = 0
    interrupted: bool = False
    """Stopped by Ctrl-C / SIGTERM: what was found (shrunk as far as it got) is kept."""


def _same_failure(original: Judged) -> Callable[[Judged], bool]:
    """A crash for a crash; else a violation of the invariant the original broke first."""
    if original.crash is not None:
        return lambda j: j.crash is not None
    first = original.violations[0].invariant
    return lambda j: any(v.invariant == first for v in j.violations)


def _shrunk(
    spec: str,
    first: Finding,
    disabled: Sequence[str],
    result: FuzzResult,
    on_progress: Callable[[int, int], None] | None,
) -> Finding:
    same = _same_failure(first.judged)
    latest = [first]

    def fails(program: Program) -> bool:
        judged, records, expectations = judge(spec, program, disabled=disabled)
        result.shrink_runs += 1
        if on_progress:
            on_progress(result.programs, result.shrink_runs)
        if not same(judged):
            return False
        latest[0] = Finding(program, judged, records, expectations)
        return True

    try:
        smallest, _ = shrink(first.program, fails, max_runs=MAX_SHRINK_RUNS)
    except KeyboardInterrupt:
        result.interrupted = True
        return latest[0]  # the smallest failing program so far
    # the last candidate that failed is the one the shrinker kept; replay it once more
    if smallest != first.program and not fails(smallest):
        latest[0].reproduced = False  # it failed once, not on the confirming replay
    return latest[0]


def fuzz(
    spec: str,
    budget: Budget,
    *,
    seed: int = 0,
    shrink: bool = True,
    disabled: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> FuzzResult:
    """Random programs on `spec` until `budget` is spent or one fails (then shrink it)."""
    result = FuzzResult()
    start = time.monotonic()
    deadline = start + budget.seconds if budget.seconds is not None else None
    while (
        result.programs < budget.programs
        if budget.programs is not None
        else time.monotonic() < (deadline or 0)
    ):
        program = generate(random.Random(f"{seed}/{result.programs}"))
        try:
            judged, records, expectations = judge(spec, program, disabled=disabled)
        except KeyboardInterrupt:
            result.interrupted = True
            break
        result.programs += 1
        if on_progress:
            on_progress(result.programs, 0)
        if judged.failed:
            result.seconds = time.monotonic() - start
            result.first = Finding(program, judged, records, expectations)
            result.finding = (
                _shrunk(spec, result.first, disabled, result, on_progress)
                if shrink
                else result.first
            )
            result.shrink_seconds = time.monotonic() - start - result.seconds
            return result
    result.seconds = time.monotonic() - start
    return result
