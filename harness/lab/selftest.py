"""`harness selftest --target lab:CONFIG`: the suite on the stand-in's correct kernel and on
each of its named kernel bugs (hsproxy `bugs=NAME`), every bug expected to be caught.

A real kernel costs real time, so each bug's pass stops at its first catch (a violation or
a crash: one is the proof; an infrastructure error does not stop it; the baseline runs
whole), and the passes are spread over `jobs`
processes, each keeping its own leased machine across its passes (one ready snapshot per
bug, taken on first use). The bug names are the simulator's mutant names that the stand-in
implements: those its hsproxy.ko carries in its table of names.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results.model import CaseResult, Verdict
from harness.results.selftest import MutantRow, SelftestMatrix
from harness.sim.mutants import MUTANTS, Mutant

__all__ = ["CAUGHT", "lab_selftest", "standin_bugs"]

CAUGHT = (Verdict.VIOLATION, Verdict.CRASH)
BASELINE = "baseline"


def standin_bugs(dist: Path) -> list[str]:
    """The named bugs the stand-in's hsproxy.ko implements (the names it can parse are in
    its string table), in the simulator's order."""
    try:
        image = (dist / "hsproxy.ko").read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {dist / 'hsproxy.ko'} ({e.strerror}); build the "
                          "stand-in: make -C drivers linux") from None
    return [m.value for m in Mutant if b"\0" + m.value.encode() + b"\0" in image]


class _StopAtCatch:
    """A pytest plugin ending the pass once a case catches the bug."""

    def __init__(self) -> None:
        self.session: Any = None

    def pytest_sessionstart(self, session: Any) -> None:
        self.session = session

    def caught(self, case: CaseResult) -> None:
        if case.verdict in CAUGHT and self.session is not None:
            self.session.shouldstop = f"{case.scenario} caught the bug"


def _pass(spec: str, bug: str, debugger: str | None) -> dict[str, Verdict]:
    """One pass in a worker process (its lab session, and machine, live on for the next)."""
    from harness.scenarios.runner import _Options, run_options

    options = _Options(target=spec if bug == BASELINE else f"{spec},bugs={bug}",
                       debugger=debugger)
    if bug == BASELINE:
        run = run_options(options)
    else:
        stop = _StopAtCatch()
        run = run_options(options, on_case=stop.caught, plugins=(stop,))
    return {c.scenario: c.verdict for c in run.cases}


def lab_selftest(spec: str, bugs: Iterable[str], *, jobs: int = 2, debugger: str | None = None,
                 on_done: Callable[[str, dict[str, Verdict]], None] | None = None
                 ) -> SelftestMatrix:
    """Run the baseline and each bug on lab target `spec`; the matrix says who caught what."""
    chosen = list(bugs)
    results: dict[str, dict[str, Verdict]] = {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx) as pool:
        futures = {pool.submit(_pass, spec, name, debugger): name
                   for name in (BASELINE, *chosen)}
        for fut in as_completed(futures):
            name = futures[fut]
            results[name] = fut.result()
            if on_done:
                on_done(name, results[name])
    baseline = results[BASELINE]
    scenarios = list(baseline)
    descriptions = {m.value: text for m, text in MUTANTS.items()}
    rows = [MutantRow(name=bug, description=descriptions.get(bug, ""), verdicts=results[bug],
                      caught_by=[s for s, v in results[bug].items() if v in CAUGHT])
            for bug in chosen]
    return SelftestMatrix(mutants=rows, scenarios=scenarios, baseline=baseline)
