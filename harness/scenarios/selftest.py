"""Selftest: the suite against the correct simulator and against every mutant.

A mutant is caught when some scenario gives a violation or a crash on it. Each pass runs in
its own process (the suite is in-process pytest), two at a time on this 2-core machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed

from harness.results.model import Verdict
from harness.results.selftest import MutantRow, SelftestMatrix
from harness.scenarios.runner import run_suite
from harness.sim.mutants import MUTANTS, Mutant

__all__ = ["CAUGHT", "selftest"]

CAUGHT = (Verdict.VIOLATION, Verdict.CRASH)


def _pass(target: str, seed: int, disabled: tuple[str, ...]) -> dict[str, Verdict]:
    suite = run_suite(target=target, seed=seed, disabled=disabled)
    return {c.scenario: c.verdict for c in suite.cases}


def selftest(mutants: Iterable[Mutant] = tuple(Mutant), *, seed: int = 0,
             disabled: tuple[str, ...] = (), jobs: int | None = None,
             on_done: Callable[[str, dict[str, Verdict]], None] | None = None) -> SelftestMatrix:
    """Run the baseline and each mutant; the matrix says who caught what."""
    chosen = list(mutants)
    specs = {"baseline": "sim"} | {m.value: f"sim:mutant={m.value}" for m in chosen}
    results: dict[str, dict[str, Verdict]] = {}
    workers = jobs or min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_pass, spec, seed, disabled): name for name, spec in specs.items()}
        for fut in as_completed(futures):
            name = futures[fut]
            results[name] = fut.result()
            if on_done:
                on_done(name, results[name])
    baseline = results["baseline"]
    scenarios = list(baseline)
    rows = []
    for m in chosen:
        verdicts = results[m.value]
        rows.append(MutantRow(
            name=m.value, description=MUTANTS[m], verdicts=verdicts,
            caught_by=[s for s in scenarios if verdicts.get(s) in CAUGHT],
        ))
    return SelftestMatrix(mutants=rows, scenarios=scenarios, baseline=baseline)
