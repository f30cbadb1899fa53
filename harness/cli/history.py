"""`harness history [SCENARIO] [--build B]`: verdicts over runs, flaky scenarios apart from
regressions, and for each regression the first run and the inputs that changed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.cli.arguments import count

if TYPE_CHECKING:
    from harness.store.history import Entry, Verdicts
    from harness.store.results import ResultsStore

__all__ = ["add_arguments", "main"]

_MARK = {
    "pass": "✓",
    "not_applicable": "-",
    "violation": "✗",
    "infrastructure_error": "!",
    "crash": "C",
}


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    """--plan / --store: where the results are (shared by history, dashboard)."""
    p.add_argument("--plan", metavar="PLAN", help="the plan file: its store, and only its runs")
    p.add_argument("--store", metavar="URL", help="results store URL (default: the plan's store)")


def open_store_of(args: argparse.Namespace) -> tuple[ResultsStore, str | None]:
    """The store the arguments name and the plan name to filter runs by (if any)."""
    from harness.errors import ConfigError
    from harness.nightly import store_url
    from harness.plan import load_plan
    from harness.store import open_results_store

    if args.plan is None and args.store is None:
        raise ConfigError("name the results with --plan PLAN or --store URL")
    loaded = load_plan(args.plan) if args.plan else None
    url = args.store if loaded is None else store_url(loaded, args.store)
    return open_results_store(url), loaded.plan.name if loaded else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="one scenario (as `harness scenarios` names it); default: all",
    )
    p.add_argument("--build", metavar="B", help="only cells of this build (name or build id)")
    p.add_argument(
        "--runs", type=count, default=30, metavar="N", help="the last N runs (default 30)"
    )
    add_store_arguments(p)


def main(args: argparse.Namespace) -> int:
    from harness.store import require_extra

    require_extra("history")
    from harness.store.history import history

    store, plan = open_store_of(args)
    try:
        found = history(store, args.scenario, build=args.build, plan=plan, runs=args.runs)
    finally:
        store.close()
    if not found.entries:
        what = f"scenario {args.scenario}" if args.scenario else "any scenario"
        print(f"no results for {what}" + (f" on build {args.build}" if args.build else ""))
        return 0
    _print_series(found.entries)
    _print_findings(found)
    return 1 if any(c.regression for c in found.changes) else 0


def _print_series(entries: list[Entry]) -> None:
    runs = list(dict.fromkeys(e.run_id for e in entries))
    series: dict[tuple[str, str, int], dict[str, str]] = {}
    for e in entries:
        series.setdefault(e.series, {})[e.run_id] = e.verdict
    print(f"{len(runs)} run(s), oldest first: {runs[0]} .. {runs[-1]}")
    print(
        "  (✓ pass, ✗ violation, ! infrastructure error, C crash, - not applicable, space: not run)"
    )
    width = max(len(f"{c} {s}#{r}") for c, s, r in series)
    for (cell, scenario, rep), verdicts in sorted(series.items()):
        strip = "".join(_MARK.get(verdicts.get(run, ""), " ") for run in runs)
        print(f"  {f'{cell} {scenario}#{rep}':<{width}}  {strip}")


def _print_findings(found: Verdicts) -> None:
    print(
        f"\nflaky ({len(found.flaky)}): verdict changed while guest build, driver and "
        "harness did not"
    )
    for f in found.flaky:
        print(
            f"  {f.cell} {f.scenario}#{f.repetition}: {f.flips} flip(s) among "
            f"{', '.join(f.verdicts)}; in run(s) {', '.join(f.runs)}"
        )
    regressions = [c for c in found.changes if c.regression]
    print(f"\nregressions ({len(regressions)}): verdict changed with an input")
    for c in regressions:
        print(
            f"  {c.cell} {c.scenario}#{c.repetition}: {c.before} -> {c.after} first in run "
            f"{c.first_run} (last {c.before} in {c.last_run_before}); suspect: "
            f"{'; '.join(c.suspects)}"
        )
    fixes = [c for c in found.changes if not c.regression]
    if fixes:
        print(f"\nother changes with an input ({len(fixes)})")
        for c in fixes:
            print(
                f"  {c.cell} {c.scenario}#{c.repetition}: {c.before} -> {c.after} in run "
                f"{c.first_run}; {'; '.join(c.suspects)}"
            )
