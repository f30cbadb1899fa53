"""Runs written straight into a store, for tests of what reads them (history, sign-off,
dashboard): each run's cells with the verdicts and inputs the test chooses."""

from __future__ import annotations

from harness.plan.model import Cell
from harness.results.model import CaseResult, Verdict
from harness.store.results import ResultsStore
from harness.store.rows import Inputs, RunRow, driver_hash

INPUTS = Inputs(guest_build="sim", driver_hash="sim-model", harness_version="0.1.0")


def record(
    store: ResultsStore,
    run_id: str,
    started: str,
    cells: list[Cell],
    verdicts: dict[str, dict[str, str]],
    *,
    inputs: Inputs | None = None,
    plan: str = "p",
    state: str = "done",
) -> None:
    """A run of `cells`; verdicts[cell key][scenario] = verdict (cells not named: all pass
    of one scenario `s`)."""
    store.begin_run(
        RunRow(
            id=run_id,
            plan=plan,
            plan_path="/p.toml",
            plan_digest="d",
            kind="nightly",
            state="running",
            started=started,
            host="h",
            directory="/tmp",
            harness_version="0.1.0",
        ),
        cells,
    )
    for row in store.cells(run_id):
        cell = next(c for c in cells if c.key == row.key)
        given = inputs or Inputs(
            guest_build="sim",
            harness_version="0.1.0",
            driver_hash=driver_hash(cell.driver, cell.build_id),
        )
        attempt = store.start_attempt(row.id, "sim#0")
        cases = [
            (CaseResult(scenario=s, verdict=Verdict(v), duration=0.25), given)
            for s, v in verdicts.get(row.key, {"s": "pass"}).items()
        ]
        store.add_results(run_id, row.id, attempt, cases)
        store.finish_attempt(attempt, final=True)
    if state == "done":
        store.finish_run(run_id, "done")
