"""Queueing a run on the farm: the run and its cells recorded in the store (as `harness
nightly` records them), then one `run_cell` job per cell on its capability's queue, at the
run's priority (sign-off before nightly)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from harness.errors import ConfigError
from harness.farm.jobs import PRIORITY, RUN_CELL, farm_app, queue_of
from harness.nightly.run import new_run
from harness.plan.load import LoadedPlan
from harness.plan.model import Cell
from harness.store.results import ResultsStore

__all__ = ["enqueue", "enqueue_plan", "signoff_cells"]


def signoff_cells(build: str) -> Callable[[Cell], bool]:
    """The cells a sign-off of `build` needs: its required ones."""
    return lambda c: c.required and build in (c.build, c.build_id)


def enqueue(
    store: ResultsStore,
    loaded: LoadedPlan,
    *,
    kind: str = "nightly",
    only: Callable[[Cell], bool] | None = None,
    resume: str | None = None,
    app: procrastinate.App | None = None,
) -> str:
    """A new run of the plan with its cells queued; its id. Refused while a run of the same
    plan and kind is unfinished (one at a time, as `harness nightly` does). `resume`: queue
    again the cells of that run not done (a job still queued for a cell is kept, not
    doubled). `app`: an app already open (a worker's, for the periodic nightly)."""
    if store.engine.dialect.name != "postgresql":
        raise ConfigError(
            "the farm queues jobs on PostgreSQL: give the plan (or --store) a "
            "postgresql+psycopg:// URL"
        )
    if resume is not None:
        run = store.run(resume)
        if run is None or run.plan != loaded.plan.name:
            raise ConfigError(f"--resume {resume}: no run of plan {loaded.plan.name} has that id")
        store.reopen_run(run.id)
    else:
        busy = [r for r in store.runs(loaded.plan.name, state="running") if r.kind == kind]
        if busy:
            raise ConfigError(
                f"plan {loaded.plan.name} has an unfinished {kind} run {busy[0].id}; one at a "
                f"time: wait for it to finish, or queue its cells again with --resume "
                f"{busy[0].id}"
            )
        run = new_run(store, loaded, kind, only=only)
    if app is not None:
        _defer(app, store, run.id, run.kind, loaded.plan.retries)
        return run.id
    with farm_app(store, sync=True) as opened, opened.open():
        _defer(opened, store, run.id, run.kind, loaded.plan.retries)
    return run.id


def _defer(
    app: procrastinate.App, store: ResultsStore, run_id: str, kind: str, retries: int
) -> None:
    for row in store.cells(run_id):
        if row.state == "done":
            continue
        with contextlib.suppress(AlreadyEnqueued):  # its job is still in the queue
            app.configure_task(
                RUN_CELL,
                queue=queue_of(_pool(row.kind, row.spec)),
                priority=PRIORITY.get(kind, 0),
                lock=f"cell-{row.id}",
                queueing_lock=f"cell-{row.id}",
            ).defer(run_id=run_id, cell_id=row.id, retries=retries)


def enqueue_plan(store: ResultsStore, path: str, *, app: procrastinate.App | None = None) -> str:
    """A nightly run of the plan file at `path`, queued."""
    from harness.plan.load import load_plan

    return enqueue(store, load_plan(path), kind="nightly", app=app)


def _pool(kind: str, spec: str) -> str:
    from harness.plan.resolve import lab_config

    return "sim" if kind == "sim" else lab_config(spec)
