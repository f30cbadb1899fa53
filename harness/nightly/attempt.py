"""One attempt of one cell on one machine slot: the cell sent to the slot's worker, every case
result stored as it arrives, the attempt ended as final (its results count) or as one to
retry elsewhere (an infrastructure error with retries left), crashes triaged into the store.

The local scheduler and the farm's job both come through here, so a cell is recorded the
same way wherever it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import __version__
from harness.errors import HarnessError
from harness.nightly.machines import Slot, WorkerDiedError
from harness.nightly.worker import CaseEvent, CellRequest, EndEvent
from harness.plan.model import Cell
from harness.results.model import Verdict
from harness.store.results import ResultsStore, worst
from harness.store.rows import CellRow, Inputs, driver_hash

__all__ = ["Outcome", "Pending", "attempt_cell"]


@dataclass
class Pending:
    """A cell waiting to be tried."""

    row: CellRow
    cell: Cell
    avoid: set[str] = field(default_factory=set)
    """Slots this cell failed on for the machinery's reasons: try another first."""
    tries: int = 0


@dataclass
class Outcome:
    cases: int = 0
    verdicts: list[str] = field(default_factory=list)
    error: str | None = None
    infrastructure: bool = False
    retry: bool = False
    """The attempt did not count: try the cell again on another machine."""
    stopped: bool = False
    """The run is stopping: the attempt was left for --resume."""
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return worst(self.verdicts) or (Verdict.INFRA.value if self.error else "empty")


def attempt_cell(
    store: ResultsStore,
    run_id: str,
    run_dir: Path,
    slot: Slot,
    item: Pending,
    *,
    retries: int,
    stopping: Callable[[], bool] = lambda: False,
    say: Callable[[str], None] = print,
) -> Outcome:
    """Try `item` once on `slot`."""
    row, cell = item.row, item.cell
    attempt_id = store.start_attempt(row.id, slot.name)
    out = run_dir / "cells" / f"{row.id:05d}" / f"attempt-{attempt_id}"
    inputs_hash = driver_hash(cell.driver, cell.build_id)
    seen = Outcome()
    began = time.monotonic()
    try:
        for event in slot.worker().run(CellRequest(cell=cell, out=str(out))):
            if stopping():
                seen.stopped = True
                break
            if isinstance(event, CaseEvent):
                inputs = Inputs(
                    guest_build=event.guest_build,
                    driver_hash=inputs_hash,
                    harness_version=__version__,
                )
                store.add_result(run_id, row.id, attempt_id, event.case, inputs)
                seen.cases += 1
                seen.verdicts.append(event.case.verdict.value)
            elif isinstance(event, EndEvent):
                seen.error, seen.infrastructure = event.error, event.infrastructure
    except WorkerDiedError as e:
        seen.error, seen.infrastructure, seen.stopped = str(e), True, stopping()
    except BaseException:
        # the store failed (or we are stopped) mid-cell: the worker still has this cell's
        # events to say, which must never be read as the next cell's
        slot.kill()
        raise
    if seen.stopped:
        slot.kill()
        return seen
    seen.seconds = time.monotonic() - began
    infra = seen.infrastructure or Verdict.INFRA.value in seen.verdicts
    if infra and item.tries < retries:
        why = seen.error or "a case's verdict was infrastructure_error"
        store.finish_attempt(attempt_id, final=False, error=why)
        say(f"retry {cell.key} on another machine ({slot.name} failed: {why})")
        seen.retry = True
        return seen
    store.finish_attempt(attempt_id, final=True, error=seen.error)
    _triage(store, run_id, out, say)
    return seen


def _triage(store: ResultsStore, run_id: str, out: Path, say: Callable[[str], None]) -> None:
    """Crashes the target captured (OUT/crashes/) go to the store's crash buckets."""
    if not (out / "crashes").is_dir():
        return
    from harness.report.crashes import triage_run

    store.crashes.run_id = run_id
    try:
        triage_run(out, store.crashes)
    except HarnessError as e:
        say(f"triage of {out}: {e}")
