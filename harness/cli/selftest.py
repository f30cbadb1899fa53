"""`harness selftest`: prove the suite can fail: the checker alone must catch every mutant.

Exit 0 when it does and the correct simulator passes, 1 otherwise (a mutant survived, only a
scenario assertion caught it, or the correct simulator failed), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.arguments import count, output_dir
from harness.contract.check import INVARIANTS
from harness.errors import ConfigError
from harness.report import write_selftest_html
from harness.results.selftest import SelftestMatrix, render_selftest_text
from harness.scenarios.selftest import selftest
from harness.sim.mutants import Mutant, parse_mutants

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mutant",
        action="append",
        default=[],
        metavar="NAME",
        help="only these mutants (repeatable; default: all "
        f"{len(Mutant)}: {', '.join(m.value for m in Mutant)})",
    )
    p.add_argument(
        "--target",
        default="sim",
        metavar="SPEC",
        help="sim (default), or lab:CONFIG to run the Linux stand-in's named kernel "
        "bugs on real guests (the checker judges; a pass stops at its catch)",
    )
    p.add_argument("--debugger", metavar="SPEC", help="kernel debugger for a lab target")
    p.add_argument("--seed", type=_seed, default=0, help="simulator seed (default 0)")
    p.add_argument("--jobs", type=count, default=None, help="parallel passes (default 2)")
    p.add_argument("--out", metavar="DIR", type=output_dir, help="also write DIR/selftest.html")
    p.add_argument(
        "--disable-invariant",
        action="append",
        default=[],
        metavar="NAME",
        choices=list(INVARIANTS),
        help="turn one contract invariant off (to see which mutants then survive)",
    )


def _lab(args: argparse.Namespace) -> SelftestMatrix:
    from harness.lab.selftest import lab_selftest, standin_bugs
    from harness.targets.lab import LabTarget

    config = LabTarget.check_spec(args.target)  # a bad config fails here, before any machine
    known = standin_bugs(Path(config.driver.dist))
    unknown = sorted(set(args.mutant) - set(known))
    if unknown:
        raise ConfigError(
            f"the stand-in implements no bug {unknown[0]!r}; its bugs: {', '.join(known)}"
        )
    bugs = args.mutant or known
    done: list[str] = []

    def on_done(name: str, caught: dict[str, bool]) -> None:
        done.append(name)
        verb = "failed" if name == "baseline" else "caught it"
        print(
            f"[{len(done):>2}/{len(bugs) + 1}] {name:<28} {sum(caught.values())} "
            f"scenario(s) {verb}",
            file=sys.stderr,
        )

    return lab_selftest(
        args.target, bugs, jobs=args.jobs or 2, debugger=args.debugger, on_done=on_done
    )


def _seed(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{value}: use a whole number from 0 to 2**63-1")
    return value


def main(args: argparse.Namespace) -> int:
    if args.target.startswith("lab"):
        return _report(_lab(args), args)
    try:
        mutants = sorted(parse_mutants("+".join(args.mutant))) if args.mutant else list(Mutant)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    total = 2 * len(mutants) + 1
    done: list[str] = []

    def on_done(name: str, caught: dict[str, bool]) -> None:
        done.append(name)
        verb = "failed" if name.startswith("baseline") else "caught it"
        print(
            f"[{len(done):>2}/{total}] {name:<42} {sum(caught.values())} scenario(s) {verb}",
            file=sys.stderr,
        )

    matrix = selftest(
        mutants,
        seed=args.seed,
        disabled=tuple(args.disable_invariant),
        jobs=args.jobs,
        on_done=on_done,
    )
    return _report(matrix, args)


def _report(matrix: SelftestMatrix, args: argparse.Namespace) -> int:
    print(render_selftest_text(matrix), end="")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_selftest_html(matrix, Path(args.out) / "selftest.html")
    return 0 if matrix.ok else 1
