"""`harness plan show PLAN`: a test plan checked and expanded into its cells."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = sub.add_parser("show", help="check a plan and list its cells")
    show.add_argument("plan", metavar="PLAN", help="the plan file (TOML; docs/nightly.md)")


def main(args: argparse.Namespace) -> int:
    from harness.plan import expand, load_plan

    loaded = load_plan(args.plan)
    cells = expand(loaded)
    plan = loaded.plan
    width = max(len(c.key) for c in cells)
    print(
        f"plan {plan.name}: {len(cells)} cell(s), {sum(c.required for c in cells)} "
        f"required for sign-off; up to {plan.parallel} simulator cell(s) at once, "
        f"{plan.retries} retr{'y' if plan.retries == 1 else 'ies'} on infrastructure errors"
    )
    for c in cells:
        keyword = f"-k {c.keyword!r}" if c.keyword else "whole suite"
        flags = " required" if c.required else ""
        print(f"  {c.key:<{width}}  {c.spec}  build {c.build_id}  {keyword}  x{c.repeat}{flags}")
    return 0
