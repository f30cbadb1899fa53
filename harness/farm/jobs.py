"""The farm's jobs on procrastinate: `run_cell` (one cell of a run, on a slot of the worker
that took it) and `nightly_tick` (the periodic nightly: enqueue a new run of a plan).

Each job knows its queue (the capability it needs: `sim`, or `lab-NAME` for the machines of
lab config NAME.toml), its priority (sign-off runs before nightly ones) and its lock (one job
per cell at a time). A cell whose attempt hit an infrastructure error is retried by
procrastinate (`RetryCell`), on whichever worker takes it next; a job whose worker died is
found stalled by another worker and retried (harness.farm.worker), and its cell's abandoned
attempt never counts (harness.store.results).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import procrastinate

from harness.errors import HarnessError
from harness.store.results import ResultsStore

__all__ = [
    "CONTROL",
    "PRIORITY",
    "RUN_CELL",
    "RetryCell",
    "app",
    "farm_app",
    "nightly_tick",
    "queue_of",
    "run_cell",
]

PRIORITY = {"signoff": 100, "nightly": 0}
"""Higher runs first: a release waits for nobody's nightly."""
CONTROL = "control"
"""The queue of the farm's own jobs (the nightly tick): every worker serves it."""
MAX_TRIES = 11
"""procrastinate's bound; the plan's `retries` (at most 10) bounds each cell below it."""


class RetryCell(HarnessError):
    """The attempt hit an infrastructure error with retries left: run the job again."""


def queue_of(pool: str) -> str:
    """The queue of a cell's pool: `sim`, or `lab-NAME` for lab config NAME.toml."""
    return "sim" if pool == "sim" else f"lab-{Path(pool).stem}"


app = procrastinate.App(connector=procrastinate.PsycopgConnector())
RUN_CELL = "harness.run_cell"
_SCHEMA_LOCK = 7305002


@contextlib.contextmanager
def farm_app(store: ResultsStore, *, sync: bool = False) -> Iterator[procrastinate.App]:
    """The farm's app on the store's PostgreSQL database (`sync`: for code that is not a
    coroutine, e.g. queueing from the CLI), procrastinate's schema installed there on first
    use (by one process: an advisory lock orders them)."""
    import sqlalchemy as sa

    url = store.engine.url.set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    with store.engine.begin() as c:
        c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
        if c.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            # exec_driver_sql formats with parameters: a literal % is written %%
            c.exec_driver_sql(procrastinate.schema.SchemaManager.get_schema().replace("%", "%%"))
    connector: procrastinate.BaseConnector = (
        procrastinate.SyncPsycopgConnector(conninfo=conninfo)
        if sync
        else procrastinate.PsycopgConnector(conninfo=conninfo)
    )
    with app.replace_connector(connector) as on_store:
        yield on_store


@app.task(
    name=RUN_CELL,
    pass_context=True,
    retry=procrastinate.RetryStrategy(max_attempts=MAX_TRIES, retry_exceptions={RetryCell}),
)
def run_cell(context: procrastinate.JobContext, run_id: str, cell_id: int, retries: int) -> str:
    """Run one cell on a slot of this worker; the store records it (harness.nightly)."""
    from harness.farm.runtime import Runtime

    runtime = context.additional_context["farm"]
    assert isinstance(runtime, Runtime)
    tries = context.job.attempts if context.job else 0
    return runtime.run_cell(run_id, cell_id, retries=retries, tries=tries)


@app.task(name="harness.nightly_tick", pass_context=True, queue=CONTROL)
def nightly_tick(context: procrastinate.JobContext, timestamp: int, plan: str) -> str:
    """The periodic nightly: a new run of `plan` (a path on the worker's host), its cells
    queued. A tick while the plan's last nightly is unfinished is skipped."""
    from harness.farm.runtime import Runtime

    runtime = context.additional_context["farm"]
    assert isinstance(runtime, Runtime)
    return runtime.tick(plan, timestamp, context.app)
