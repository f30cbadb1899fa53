"""`harness signoff PLAN --build B`: yes or no for a release, with a one-page report (HTML and
Markdown) of the evidence and, when no, the blockers. Exit status 0 yes, 1 no."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from harness.cli.arguments import count, output_dir

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", metavar="PLAN", help="the plan file (its required cells)")
    p.add_argument(
        "--build",
        metavar="B",
        help="the build to sign off: a build name of the plan or its build id",
    )
    p.add_argument(
        "--runs",
        type=count,
        default=None,
        metavar="N",
        help="required cells must have passed in each of the last N finished runs "
        "(default: the plan's signoff_runs)",
    )
    p.add_argument(
        "--out",
        type=output_dir,
        default=None,
        metavar="DIR",
        help="where signoff.md and signoff.html go (default: RUNS/signoff-B-<UTC time>)",
    )
    p.add_argument("--store", metavar="URL", help="results store (default: the plan's)")
    p.add_argument(
        "--close-bucket",
        metavar="ID",
        help="close crash bucket ID (with --note why) so it no longer blocks; then answer as usual",
    )
    p.add_argument("--note", default="", help="why the bucket is closed (with --close-bucket)")


def main(args: argparse.Namespace) -> int:
    from harness.store import require_extra

    require_extra("signoff")
    from harness.errors import ConfigError
    from harness.nightly import store_url
    from harness.nightly.run import runs_dir
    from harness.nightly.signoff import decide
    from harness.nightly.signoff_report import write_signoff
    from harness.plan import load_plan
    from harness.store import open_results_store

    if not args.build:
        raise ConfigError("--build B is required: the build to sign off")
    loaded = load_plan(args.plan)
    store = open_results_store(store_url(loaded, args.store))
    try:
        if args.close_bucket:
            store.crashes.set_state(args.close_bucket, "closed", args.note)
            print(
                f"closed crash bucket {args.close_bucket}" + (f": {args.note}" if args.note else "")
            )
        decision = decide(store, loaded, args.build, args.runs or loaded.plan.signoff_runs)
    finally:
        store.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or runs_dir(loaded) / f"signoff-{decision.build}-{stamp}"
    md, page = write_signoff(decision, Path(out))
    print(
        f"sign-off of build {decision.build} ({decision.build_id}): "
        f"{'YES' if decision.ship else 'NO'}"
    )
    for blocker in decision.blockers:
        print(f"  blocker: {blocker}")
    print(f"report: {page} ({md.name})")
    return 0 if decision.ship else 1
