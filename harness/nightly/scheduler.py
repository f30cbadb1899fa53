"""Running a nightly's cells: one thread per machine slot, each feeding its worker process the
pending cells of its pool; every case result goes to the store as it arrives.

A cell is tried on a slot; an infrastructure error (the worker died, the target broke, a
case's verdict is `infrastructure_error`) puts it back for another slot of the same pool,
at most `retries` times, before the error counts. A store that stays unreachable stops the
run (nothing written is lost: the run resumes later); so does SIGINT/SIGTERM, which kills the
workers and leaves the cells they held to be tried again by `--resume`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import __version__
from harness.errors import HarnessError, InfrastructureError
from harness.nightly.machines import Slot
from harness.nightly.worker import CaseEvent, CellRequest, EndEvent
from harness.plan.model import Cell
from harness.results.model import Verdict
from harness.store.results import ResultsStore
from harness.store.rows import CellRow, Inputs, driver_hash

__all__ = ["Pending", "Scheduler"]


@dataclass
class Pending:
    row: CellRow
    cell: Cell
    avoid: set[str] = field(default_factory=set)
    """Slots this cell failed on for the machinery's reasons: try another first."""
    tries: int = 0


@dataclass
class _Attempt:
    cases: int = 0
    verdicts: list[str] = field(default_factory=list)
    error: str | None = None
    infrastructure: bool = False


Report = Callable[[str], None]


class Scheduler:
    """Runs `pending` on `slots` until every cell is done (or the run must stop)."""

    def __init__(self, store: ResultsStore, run_id: str, run_dir: Path, pending: list[Pending],
                 slots: list[Slot], *, retries: int, say: Report, total: int | None = None):
        self.store, self.run_id, self.run_dir = store, run_id, run_dir
        self.slots, self.retries, self.say = slots, retries, say
        self._pending = list(pending)
        self._running: dict[str, int] = {}
        self._cond = threading.Condition()
        self._stop = False
        self.failure: BaseException | None = None
        self.done = (total or len(pending)) - len(pending)
        self.total = total or len(pending)
        self.verdicts: dict[str, int] = {}

    # -- the queue ----------------------------------------------------------------------

    def _take(self, slot: Slot) -> Pending | None:
        """The next cell for `slot`: one of its pool that has not failed on it (or has
        failed on every slot of the pool); None once its pool has nothing left to run."""
        pool = {s.name for s in self.slots if s.pool == slot.pool}
        with self._cond:
            while not self._stop:
                mine = [p for p in self._pending if p.cell.pool == slot.pool]
                pick = next((p for p in mine if slot.name not in p.avoid or pool <= p.avoid),
                            None)
                if pick is not None:
                    self._pending.remove(pick)
                    self._running[slot.pool] = self._running.get(slot.pool, 0) + 1
                    return pick
                if not mine and not self._running.get(slot.pool):
                    return None  # a running cell may still come back for another slot
                self._cond.wait(1.0)
            return None

    def _put(self, slot: Slot, item: Pending | None) -> None:
        with self._cond:
            self._running[slot.pool] -= 1
            if item is not None:
                self._pending.append(item)
            self._cond.notify_all()

    # -- one slot -----------------------------------------------------------------------

    def _serve(self, slot: Slot) -> None:
        try:
            while (item := self._take(slot)) is not None:
                again = None
                try:
                    again = self._attempt(slot, item)
                finally:
                    self._put(slot, again)
        except BaseException as e:  # the store is gone, or a harness bug: stop the run
            with self._cond:
                if self.failure is None and not self._stop:
                    self.failure = e
                self._stop = True
                self._cond.notify_all()
        finally:
            slot.stop()

    def _attempt(self, slot: Slot, item: Pending) -> Pending | None:
        """Try a cell once on `slot`; return it when it must be tried again elsewhere."""
        row, cell = item.row, item.cell
        attempt_id = self.store.start_attempt(row.id, slot.name)
        out = self.run_dir / "cells" / f"{row.id:05d}" / f"attempt-{attempt_id}"
        inputs_hash = driver_hash(cell.driver, cell.build_id)
        seen = _Attempt()
        began = time.monotonic()
        try:
            for event in slot.worker().run(CellRequest(cell=cell, out=str(out))):
                if self._stop:
                    return None
                if isinstance(event, CaseEvent):
                    inputs = Inputs(guest_build=event.guest_build, driver_hash=inputs_hash,
                                    harness_version=__version__)
                    self.store.add_result(self.run_id, row.id, attempt_id, event.case, inputs)
                    seen.cases += 1
                    seen.verdicts.append(event.case.verdict.value)
                elif isinstance(event, EndEvent):
                    seen.error, seen.infrastructure = event.error, event.infrastructure
        except InfrastructureError as e:
            if self._stop:
                return None
            seen.error, seen.infrastructure = str(e), True
        infra = seen.infrastructure or Verdict.INFRA.value in seen.verdicts
        if infra and item.tries < self.retries:
            why = seen.error or "a case's verdict was infrastructure_error"
            self.store.finish_attempt(attempt_id, final=False, error=why)
            self.say(f"retry {cell.key} on another machine ({slot.name} failed: {why})")
            return Pending(row, cell, item.avoid | {slot.name}, item.tries + 1)
        self.store.finish_attempt(attempt_id, final=True, error=seen.error)
        self._triage(out)
        self._finished(cell, slot, seen, time.monotonic() - began)
        return None

    def _triage(self, out: Path) -> None:
        """Crashes the target captured (OUT/crashes/) go to the store's crash buckets."""
        if not (out / "crashes").is_dir():
            return
        from harness.report.crashes import triage_run

        self.store.crashes.run_id = self.run_id
        try:
            triage_run(out, self.store.crashes)
        except HarnessError as e:
            self.say(f"triage of {out}: {e}")

    def _finished(self, cell: Cell, slot: Slot, seen: _Attempt, seconds: float) -> None:
        from harness.store.results import worst

        verdict = worst(seen.verdicts) or (Verdict.INFRA.value if seen.error else "empty")
        with self._cond:
            self.done += 1
            self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
            counts = f"{self.done}/{self.total}"
        detail = f": {seen.error}" if seen.error else ""
        self.say(f"[{counts}] {cell.key}  {verdict}  ({seen.cases} case(s) on {slot.name}, "
                 f"{seconds:.1f} s){detail}")

    # -- the whole run --------------------------------------------------------------------

    def run(self) -> None:
        """Serve every slot until all cells are done; re-raise what stopped the run."""
        threads = [threading.Thread(target=self._serve, args=(s,), name=s.name, daemon=True)
                   for s in self.slots]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)
        except BaseException:
            self.stop()
            for thread in threads:
                thread.join(15)
            raise
        if self.failure is not None:
            raise self.failure

    def stop(self) -> None:
        """Stop taking cells and kill the workers (their cells stay for --resume)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for slot in self.slots:
            slot.kill()
