"""`nightly`: a plan's cells run and recorded as one run, or an unfinished run resumed.

A new run records every cell (pending) in the store before any runs, so `--resume RUN` needs
nothing but the store: it runs the cells not yet done. Results are written as they arrive and
count only when their cell's attempt ends (harness.store.results), so a run killed at any
moment, SIGKILL included, resumes with no result lost and none twice.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__
from harness.errors import ConfigError, InfrastructureError
from harness.nightly.attempt import Pending
from harness.nightly.lock import PlanLock
from harness.nightly.machines import slots_for
from harness.nightly.scheduler import Scheduler
from harness.plan.load import LoadedPlan
from harness.plan.model import Cell
from harness.plan.resolve import expand
from harness.results.rundir import claim
from harness.store.results import ResultsStore
from harness.store.rows import RunRow, now

__all__ = ["Summary", "new_run", "nightly", "runs_dir"]

Say = Callable[[str], None]


def runs_dir(loaded: LoadedPlan) -> Path:
    return (loaded.base / loaded.plan.runs).resolve()


class Summary:
    def __init__(self, run_id: str, directory: str, verdicts: dict[str, int]) -> None:
        self.run_id, self.directory, self.verdicts = run_id, directory, verdicts

    @property
    def failed(self) -> bool:
        return any(v not in ("pass", "not_applicable") for v in self.verdicts)


def new_run(
    store: ResultsStore, loaded: LoadedPlan, kind: str, only: Callable[[Cell], bool] | None = None
) -> RunRow:
    """A new run of the plan (its `only` cells), recorded with every cell pending."""
    cells = [c for c in expand(loaded) if only is None or only(c)]
    if not cells:
        raise ConfigError(f"plan {loaded.plan.name}: no cell to run")
    rundir = claim(None, datetime.now(UTC), base=runs_dir(loaded))
    run = RunRow(
        id=rundir.run_id,
        plan=loaded.plan.name,
        plan_path=loaded.path,
        plan_digest=loaded.digest,
        kind=kind,
        state="running",
        started=now(),
        host=socket.gethostname(),
        directory=str(rundir.path.resolve()),
        harness_version=__version__,
    )
    store.begin_run(run, cells)
    return run


def _resumed(store: ResultsStore, loaded: LoadedPlan, run_id: str, say: Say) -> RunRow:
    run = store.run(run_id)
    if run is None:
        known = ", ".join(r.id for r in store.runs(loaded.plan.name, limit=5)) or "none"
        raise ConfigError(
            f"--resume {run_id}: no such run in store {store.url}; runs of plan "
            f"{loaded.plan.name}, newest first: {known}"
        )
    if run.plan != loaded.plan.name:
        raise ConfigError(
            f"--resume {run_id}: that run is of plan {run.plan}, not "
            f"{loaded.plan.name}; name its own plan file"
        )
    if run.plan_digest != loaded.digest:
        say(
            f"note: {loaded.path} changed since run {run_id} began; the run finishes the "
            "cells it recorded then"
        )
    store.reopen_run(run_id)
    return run


def nightly(
    store: ResultsStore,
    loaded: LoadedPlan,
    *,
    resume: str | None = None,
    wait: bool = False,
    kind: str = "nightly",
    say: Say = print,
) -> Summary:
    """Run (or resume) the plan; returns the run's cell verdicts."""
    lock = PlanLock(store, loaded.plan.name, runs_dir(loaded))
    lock.acquire(wait=wait, say=say)
    try:
        run = _resumed(store, loaded, resume, say) if resume else new_run(store, loaded, kind)
        lock.note(run.id)
        rows = store.cells(run.id)
        drivers = {b: store.driver_files(b) for b in {r.build_id for r in rows}}
        todo = [Pending(r, r.cell(drivers[r.build_id])) for r in rows if r.state != "done"]
        say(f"run {run.id}: {len(todo)} of {len(rows)} cell(s) to run; results in {store.url}")
        directory = Path(run.directory)
        slots = slots_for([p.cell for p in todo], loaded.plan.parallel, directory / "logs")
        scheduler = Scheduler(
            store,
            run.id,
            directory,
            todo,
            slots,
            retries=loaded.plan.retries,
            say=say,
            total=len(rows),
        )
        try:
            scheduler.run()
        except InfrastructureError as e:
            raise InfrastructureError(
                f"{e}; then: harness nightly {loaded.path} --resume {run.id}"
            ) from None
        except BaseException:
            _mark(store, run.id, "interrupted")
            raise
        store.finish_run(run.id, "done")
        verdicts: dict[str, int] = {}
        for row in store.cells(run.id):
            verdicts[row.verdict or "empty"] = verdicts.get(row.verdict or "empty", 0) + 1
        return Summary(run.id, run.directory, verdicts)
    finally:
        lock.release()


def _mark(store: ResultsStore, run_id: str, state: str) -> None:
    try:
        store.patience = 5.0
        store.finish_run(run_id, state)
    except Exception:  # the store may be what failed; the run resumes all the same
        pass
