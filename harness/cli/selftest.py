"""`harness selftest`: prove the suite can fail: every simulator mutant must be caught."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.arguments import output_dir
from harness.errors import ConfigError
from harness.report import write_selftest_html
from harness.results.model import Verdict
from harness.results.selftest import render_selftest_text
from harness.scenarios.selftest import CAUGHT, selftest
from harness.sim.mutants import Mutant, parse_mutants

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mutant", action="append", default=[], metavar="NAME",
                   help="only these mutants (repeatable; default: all "
                        f"{len(Mutant)}: {', '.join(m.value for m in Mutant)})")
    p.add_argument("--seed", type=int, default=0, help="simulator seed (default 0)")
    p.add_argument("--jobs", type=int, default=None, help="parallel passes (default 2)")
    p.add_argument("--out", metavar="DIR", type=output_dir,
                   help="also write DIR/selftest.html")
    p.add_argument("--disable-invariant", action="append", default=[], metavar="NAME",
                   help="turn one contract invariant off (to see which mutants then survive)")


def main(args: argparse.Namespace) -> int:
    try:
        mutants = sorted(parse_mutants("+".join(args.mutant))) if args.mutant else list(Mutant)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    total = len(mutants) + 1
    done: list[str] = []

    def on_done(name: str, verdicts: dict[str, Verdict]) -> None:
        done.append(name)
        caught = sum(v in CAUGHT for v in verdicts.values())
        print(f"[{len(done):>2}/{total}] {name:<28} {caught} scenario(s) failed", file=sys.stderr)

    matrix = selftest(mutants, seed=args.seed, disabled=tuple(args.disable_invariant),
                      jobs=args.jobs, on_done=on_done)
    print(render_selftest_text(matrix), end="")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_selftest_html(matrix, Path(args.out) / "selftest.html")
    return 0 if matrix.ok else 1
