"""Selftest: the suite against the correct simulator and against every mutant.

Each mutant runs twice: with the scenarios' own assertions off (a violation found by the
checker, or a crash, catches it) and with every invariant off (a failing assertion catches
it); see harness.results.selftest for what the two say together. Each pass runs in its own
process (the suite is in-process pytest), two at a time on this 2-core machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed

from harness.contract.check import INVARIANTS
from harness.results.model import Verdict
from harness.results.selftest import MutantRow, SelftestMatrix
from harness.scenarios.runner import run_suite
from harness.sim.mutants import MUTANTS, Mutant

__all__ = ["CAUGHT", "selftest"]

CAUGHT = (Verdict.VIOLATION, Verdict.CRASH)
WAIT_CAP_MS = 500
"""Virtual time one wait may let pass in a selftest pass: a correct kernel meets every
condition within milliseconds, and a mutant that livelocks a worker stays cheap."""

Verdicts = dict[str, Verdict]
Caught = dict[str, bool]
Pass = tuple[Verdicts, Caught, list[str]]


def _pass(target: str, seed: int, disabled: tuple[str, ...], assertions: bool) -> Pass:
    """Each scenario's verdict, whether it caught something (for a checker pass: the checker
    found a violation, or the guest crashed), and the invariants that fired."""
    suite = run_suite(target=target, seed=seed, disabled=disabled, assertions=assertions)
    verdicts = {c.scenario: c.verdict for c in suite.cases}
    if assertions:
        caught = {c.scenario: c.verdict in CAUGHT for c in suite.cases}
    else:  # a precondition outside the scenario modules may still assert: it does not count
        caught = {c.scenario: bool(c.violations) or c.verdict is Verdict.CRASH for c in suite.cases}
    fired = sorted(
        {v.invariant for c in suite.cases for v in c.violations}
        | ({"(crash)"} if any(c.verdict is Verdict.CRASH for c in suite.cases) else set())
    )
    return verdicts, caught, fired


def selftest(
    mutants: Iterable[Mutant] = tuple(Mutant),
    *,
    seed: int = 0,
    disabled: tuple[str, ...] = (),
    jobs: int | None = None,
    on_done: Callable[[str, Caught], None] | None = None,
) -> SelftestMatrix:
    """Run the baseline and each mutant both ways; the matrix says who caught what."""
    started = time.monotonic()
    chosen = list(mutants)
    everything = tuple(INVARIANTS)
    passes: dict[tuple[str, str], tuple[str, tuple[str, ...], bool]] = {
        ("baseline", "suite"): (f"sim:wait_cap_ms={WAIT_CAP_MS}", disabled, True)
    }
    for m in chosen:
        spec = f"sim:mutant={m.value},wait_cap_ms={WAIT_CAP_MS}"
        passes[(m.value, "checker")] = (spec, disabled, False)
        passes[(m.value, "assertions")] = (spec, everything, True)
    results: dict[tuple[str, str], Pass] = {}
    workers = jobs or min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(_pass, spec, seed, off, asserts): key
            for key, (spec, off, asserts) in passes.items()
        }
        for fut in as_completed(futures):
            key = futures[fut]
            results[key] = fut.result()
            if on_done:
                on_done(f"{key[0]} ({key[1]})", results[key][1])
    baseline = results[("baseline", "suite")][0]
    scenarios = list(baseline)
    rows = []
    for m in chosen:
        verdicts, by_checker, fired = results[(m.value, "checker")]
        _, by_assertion, _ = results[(m.value, "assertions")]
        rows.append(
            MutantRow(
                name=m.value,
                description=MUTANTS[m],
                verdicts=verdicts,
                caught_by=[s for s in scenarios if by_checker.get(s)],
                asserted_by=[s for s in scenarios if by_assertion.get(s)],
                invariants=fired,
            )
        )
    return SelftestMatrix(
        mutants=rows, scenarios=scenarios, baseline=baseline, seconds=time.monotonic() - started
    )
