"""`harness scenarios`: the suite, one line each."""

from __future__ import annotations

import argparse

from harness.scenarios.runner import list_scenarios

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", dest="keyword", metavar="EXPR", help="only scenarios matching EXPR")


def main(args: argparse.Namespace) -> int:
    listing = list_scenarios(args.keyword)
    width = max((len(s.scenario) for s in listing), default=0)
    for s in listing:
        print(f"{s.scenario:<{width}}  {s.title}")
    return 0
