"""`harness fuzz`: random scenario programs on a target, the checker as the oracle.

Runs programs until the budget is spent or one breaks the contract (or crashes the
target); that one is shrunk to a minimal program and saved, with its trace, where
`harness run --program FILE` replays it. Exit 0: nothing found; 1: a finding was saved.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from harness.cli.arguments import add_target
from harness.cli.interrupts import exit_status
from harness.contract import jsonl
from harness.contract.trace import FORMAT_VERSION, Header
from harness.files import atomic_writer, write_atomic
from harness.fuzz.program import dump_program
from harness.fuzz.search import Finding, FuzzResult, fuzz, parse_budget
from harness.results.rundir import check_free, claim, new_run_id
from harness.targets import open_target, parse_spec

__all__ = ["add_arguments", "main"]

PROGRESS_EVERY = 2.0
"""Seconds between progress lines."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_target(p)
    p.add_argument(
        "--budget",
        required=True,
        metavar="N|DURATION",
        help="how many programs (e.g. 500), or for how long (e.g. 30s, 5m, 1h)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the program generator (default 0): same seed, same programs",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="where a finding is saved, new or empty (default: "
        "out/fuzz-<UTC time>-<random>, made only for a finding)",
    )
    p.add_argument(
        "--no-shrink",
        action="store_true",
        help="save the failing program as generated, without shrinking it",
    )


def _saved(finding: Finding, out: Path, spec: str, name: str) -> Path:
    program_path = out / f"{name}.json"
    write_atomic(program_path, dump_program(finding.program))
    header = Header(
        format=FORMAT_VERSION,
        expectations=finding.expectations,
        source=parse_spec(spec)[0],
        scenario=f"program {program_path.name}",
        seed=finding.program.seed,
    )
    with atomic_writer(out / f"{name}.trace.jsonl") as f:
        jsonl.write_trace(f, header, finding.records)
    lines = (
        [finding.judged.summary()]
        if finding.judged.crash
        else [
            f"{v.invariant}: {v.message} [seq {', '.join(map(str, v.records))}]"
            for v in finding.judged.violations
        ]
    )
    write_atomic(out / f"{name}.violations.txt", "\n".join(lines) + "\n")
    return program_path


def _report(result: FuzzResult, out: Path, spec: str) -> int:
    rate = result.programs / result.seconds if result.seconds else 0.0
    print(f"{result.programs} programs in {result.seconds:.1f} s ({rate:.0f}/s) on {spec}")
    finding = result.finding
    if finding is None:
        print("no finding: every program's trace kept the contract")
        return 0
    assert result.first is not None
    _saved(result.first, out, spec, "first")
    path = _saved(finding, out, spec, "program")
    steps = len(finding.program.steps)
    print(f"FINDING: {finding.judged.summary()}")
    print(
        f"  shrunk from {len(result.first.program.steps)} to {steps} steps "
        f"in {result.shrink_runs} runs, {result.shrink_seconds:.1f} s"
        if result.first is not finding
        else f"  {steps} steps (not shrunk)"
    )
    if not finding.reproduced:
        print("  warning: the shrunk program did not fail again when replayed (flaky target)")
    print(f"  saved: {path} (+ .trace.jsonl, .violations.txt; first.json as generated)")
    print(f"  replay: harness run --program {path} --target {spec}")
    return 1


def main(args: argparse.Namespace) -> int:
    budget = parse_budget(args.budget)
    check_free(args.out)  # before the target opens: a lab target boots a machine
    open_target(args.target).close()  # a bad spec fails here, once
    started = datetime.now(UTC)
    # a named directory is claimed before fuzzing, so that a long run cannot end unsaved
    out = claim(args.out, started).path if args.out else Path("out") / f"fuzz-{new_run_id(started)}"
    last = [time.monotonic()]

    def progress(programs: int, shrinking: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            state = f"shrinking a finding ({shrinking} runs)" if shrinking else "nothing found yet"
            print(f"fuzz: {programs} programs, {state}", file=sys.stderr, flush=True)

    result = fuzz(
        args.target, budget, seed=args.seed, shrink=not args.no_shrink, on_progress=progress
    )
    code = _report(result, out, args.target)
    if result.interrupted:
        print("harness fuzz: interrupted; what was found so far is saved", file=sys.stderr)
        return exit_status()
    return code
