"""`harness dashboard`: the static HTML dashboard over the results store (one file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.arguments import count
from harness.cli.history import add_store_arguments, open_store_of

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default="dashboard.html",
        metavar="FILE",
        help="the page to write (default: dashboard.html)",
    )
    p.add_argument(
        "--runs",
        type=count,
        default=30,
        metavar="N",
        help="trends over the last N runs (default 30)",
    )
    add_store_arguments(p)


def main(args: argparse.Namespace) -> int:
    from harness.store import require_extra

    require_extra("dashboard")
    from harness.nightly.board import board
    from harness.nightly.dashboard import write_dashboard

    store, plan = open_store_of(args)
    try:
        data = board(store, plan, args.runs)
    finally:
        store.close()
    write_dashboard(data, Path(args.out))
    print(
        f"dashboard: {args.out} ({len(data.matrix)} cell(s) in the last run, "
        f"{len(data.runs)} run(s) of trends)"
    )
    return 0
