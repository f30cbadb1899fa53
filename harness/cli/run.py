"""`harness run`: the scenario suite on a target, with live progress and reports."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from harness import __version__
from harness.cli.arguments import add_target, count
from harness.cli.interrupts import exit_status
from harness.contract.convention import Convention
from harness.debug import open_debugger
from harness.files import write_atomic
from harness.fuzz.program import load_program
from harness.report import Progress, summary, write_html, write_junit
from harness.results.model import RunResult
from harness.results.rundir import check_free, claim
from harness.scenarios.runner import run_suite
from harness.targets import open_target

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_target(p)
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="simulator seed (default 0, or the program's with --program)",
    )
    p.add_argument(
        "--repeat",
        type=count,
        default=1,
        metavar="N",
        help="run every scenario N times with seeds SEED..SEED+N-1 (default 1)",
    )
    p.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="only scenarios matching this pytest -k expression",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="report directory, new or empty (default: out/run-<UTC time>-<random>, "
        "and out/latest points at it when the run ends)",
    )
    p.add_argument(
        "--convention",
        choices=[c.value for c in Convention],
        help="return-value convention the kernel is expected to implement",
    )
    p.add_argument(
        "--debugger", metavar="SPEC", help="kernel debugger spec (default: sim on the sim target)"
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run the scenarios in N parallel shards (on a lab target: N machines "
        "of its pool; default 1)",
    )
    p.add_argument(
        "--program",
        metavar="FILE",
        help="replay this scenario program (saved by `harness fuzz`) instead of "
        "the suite; the checker judges its trace",
    )


def _check(args: argparse.Namespace) -> None:
    """A bad target spec, lab config or guest fails here, once, with one message. A lab
    target also prepares its first machine here (the run then uses it) and attaches the
    debugger once, so a debugger that cannot attach is one error too."""
    target = open_target(args.target, seed=args.seed)
    bind = getattr(target, "bind", None)
    if bind is not None:  # a crash while checking is captured as out/crashes/preflight-r0
        bind(scenario="preflight", repetition=0, out=None)
    try:
        if args.debugger and hasattr(target, "open_debugger"):
            open_debugger(args.debugger, target=target).detach()
    finally:
        target.close()


def _crashes(out: Path) -> str:
    """The report's crashes section, when the target captured guest crashes (OUT/crashes/),
    remembered in the crash store (harness triage; docs/triage.md)."""
    if not (out / "crashes").is_dir():
        return ""
    import os

    from harness.report.crashes import triage_run
    from harness.triage.store import open_store

    store = open_store(Path(os.environ.get("HARNESS_CRASH_STORE", "out/crashes.sqlite")))
    try:
        return triage_run(out, store)
    finally:
        store.close()


def main(args: argparse.Namespace) -> int:
    if not 1 <= args.jobs <= 64:
        raise SystemExit("harness run: error: -j must be from 1 to 64")
    if args.seed is None:
        args.seed = load_program(args.program).seed if args.program else 0
    check_free(args.out)  # before _check: a lab target boots a machine there
    _check(args)
    started = datetime.now(UTC)
    rundir = claim(args.out, started)  # this run's own directory, before anything runs
    out = rundir.path
    progress: list[Progress] = []

    def on_total(total: int) -> None:
        progress.append(Progress(sys.stderr, total, repeated=args.repeat > 1))

    t0 = time.monotonic()
    suite = run_suite(
        target=args.target,
        seed=args.seed,
        repeat=args.repeat,
        keyword=args.keyword,
        out=str(out),
        convention=args.convention,
        debugger=args.debugger,
        jobs=args.jobs,
        program=args.program,
        on_total=on_total,
        on_start=lambda name, rep: progress[0].started(name, rep),
        on_case=lambda case: progress[0].finished(case),
    )
    if progress:
        progress[0].close()
    run = RunResult(
        run_id=rundir.run_id,
        target=args.target,
        seed=args.seed,
        started=started.isoformat(timespec="seconds"),
        duration=time.monotonic() - t0,
        harness_version=__version__,
        expected_convention=suite.expected_convention,
        cases=suite.cases,
    )
    run.complete = suite.exit_code != pytest.ExitCode.INTERRUPTED
    write_junit(run, out / "junit.xml")
    write_html(run, out / "report.html", crashes=_crashes(out))
    write_atomic(out / "results.json", msgspec.json.format(msgspec.json.encode(run)))
    print(summary(run, out))
    if not run.complete:  # what ran is reported; `latest` stays on the last whole run
        print(
            f"harness run: interrupted after {len(run.cases)} case(s); the reports in "
            f"{out} are partial",
            file=sys.stderr,
        )
        return exit_status()
    rundir.publish()
    return 1 if run.failed else 0
