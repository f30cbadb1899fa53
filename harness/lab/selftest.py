"""`harness selftest --target lab:CONFIG`: the suite on the stand-in's correct kernel and on
each of its named kernel bugs (hsproxy `bugs=NAME`), every bug expected to be caught.

As on any real kernel the checker is the only judge: each bug's pass runs with the scenarios'
own assertions off, and a bug is caught when the checker finds a violation in some
scenario's trace or the guest crashes. A real kernel costs real time, so a bug's pass stops
at its first catch (an infrastructure error does not stop it; the baseline runs whole), and
the passes are spread over `jobs` processes, each keeping its own leased machine across its
passes (one ready snapshot per bug, taken on first use). The bug names are the simulator's
mutant names that the stand-in implements: those its hsproxy.ko carries in its names table.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results.model import CaseResult, Verdict
from harness.results.selftest import MutantRow, SelftestMatrix
from harness.sim.mutants import MUTANTS, Mutant

__all__ = ["lab_selftest", "standin_bugs"]

BASELINE = "baseline"


def standin_bugs(dist: Path) -> list[str]:
    """The named bugs the stand-in's hsproxy.ko implements (the names it can parse are in
    its string table), in the simulator's order."""
    try:
        image = (dist / "hsproxy.ko").read_bytes()
    except OSError as e:
        raise ConfigError(
            f"cannot read {dist / 'hsproxy.ko'} ({e.strerror}); build the "
            "stand-in: make -C drivers linux"
        ) from None
    return [m.value for m in Mutant if b"\0" + m.value.encode() + b"\0" in image]


def _caught(case: CaseResult) -> bool:
    """What catches a bug on a real kernel: the checker found a violation, or it crashed."""
    return bool(case.violations) or case.verdict is Verdict.CRASH


class _StopAtCatch:
    """A pytest plugin ending the pass once a case catches the bug."""

    def __init__(self) -> None:
        self.session: Any = None

    def pytest_sessionstart(self, session: Any) -> None:
        self.session = session

    def caught(self, case: CaseResult) -> None:
        if _caught(case) and self.session is not None:
            self.session.shouldstop = f"{case.scenario} caught the bug"


Pass = tuple[dict[str, Verdict], dict[str, bool], list[str]]


def _pass(spec: str, bug: str, debugger: str | None) -> Pass:
    """One pass in a worker process (its lab session, and machine, live on for the next):
    the baseline whole and judged as `harness run` judges; a bug with the scenarios' own
    assertions off, so that the checker alone judges, up to its first catch."""
    from harness.scenarios.runner import _Options, run_options

    if bug == BASELINE:
        run = run_options(_Options(target=spec, debugger=debugger))
        return (
            {c.scenario: c.verdict for c in run.cases},
            {c.scenario: c.verdict.failed for c in run.cases},
            [],
        )
    stop = _StopAtCatch()
    run = run_options(
        _Options(target=f"{spec},bugs={bug}", debugger=debugger, assertions=False),
        on_case=stop.caught,
        plugins=(stop,),
    )
    fired = sorted(
        {v.invariant for c in run.cases for v in c.violations}
        | ({"(crash)"} if any(c.verdict is Verdict.CRASH for c in run.cases) else set())
    )
    return (
        {c.scenario: c.verdict for c in run.cases},
        {c.scenario: _caught(c) for c in run.cases},
        fired,
    )


def lab_selftest(
    spec: str,
    bugs: Iterable[str],
    *,
    jobs: int = 2,
    debugger: str | None = None,
    on_done: Callable[[str, dict[str, bool]], None] | None = None,
) -> SelftestMatrix:
    """Run the baseline and each bug on lab target `spec`; the matrix says who caught what."""
    started = time.monotonic()
    chosen = list(bugs)
    results: dict[str, Pass] = {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx) as pool:
        futures = {pool.submit(_pass, spec, name, debugger): name for name in (BASELINE, *chosen)}
        for fut in as_completed(futures):
            name = futures[fut]
            results[name] = fut.result()
            if on_done:
                on_done(name, results[name][1])
    baseline = results[BASELINE][0]
    scenarios = list(baseline)
    descriptions = {m.value: text for m, text in MUTANTS.items()}
    rows = [
        MutantRow(
            name=bug,
            description=descriptions.get(bug, ""),
            verdicts=results[bug][0],
            caught_by=[s for s, hit in results[bug][1].items() if hit],
            invariants=results[bug][2],
        )
        for bug in chosen
    ]
    return SelftestMatrix(
        mutants=rows, scenarios=scenarios, baseline=baseline, seconds=time.monotonic() - started
    )
