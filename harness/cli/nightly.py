"""`harness nightly PLAN`: run every cell of a test plan into the results store, in parallel
up to the machines there are; `--resume RUN` finishes a run that was stopped or killed."""

from __future__ import annotations

import argparse
import sys

from harness.cli.arguments import seconds

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", metavar="PLAN", help="the plan file (TOML; docs/nightly.md)")
    p.add_argument(
        "--resume", metavar="RUN", help="finish run RUN of this plan (cells already done are kept)"
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="results store URL (default: the plan's `store`, else RUNS/results.sqlite)",
    )
    p.add_argument(
        "--patience",
        type=seconds,
        default=120.0,
        metavar="SECONDS",
        help="how long a lost store connection is retried before the run stops "
        "(resumable) (default: 120)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="if this plan is being run already, wait for that run to end "
        "(default: refuse with an error)",
    )


def _say(text: str) -> None:
    print(f"nightly: {text}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from harness.store import require_extra

    require_extra("nightly")
    from harness.nightly import store_url
    from harness.nightly.run import nightly
    from harness.plan import load_plan
    from harness.store import open_results_store

    loaded = load_plan(args.plan)
    store = open_results_store(store_url(loaded, args.store), patience=args.patience)
    try:
        summary = nightly(store, loaded, resume=args.resume, wait=args.wait, say=_say)
    finally:
        store.close()
    counts = ", ".join(f"{n} {v}" for v, n in sorted(summary.verdicts.items()))
    print(f"run {summary.run_id}: {counts}; files in {summary.directory}")
    return 1 if summary.failed else 0
