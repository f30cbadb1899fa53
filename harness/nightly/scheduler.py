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
from collections.abc import Callable
from pathlib import Path

from harness.nightly.attempt import Pending, attempt_cell
from harness.nightly.machines import Slot
from harness.store.results import ResultsStore

__all__ = ["Scheduler"]


Report = Callable[[str], None]


class Scheduler:
    """Runs `pending` on `slots` until every cell is done (or the run must stop)."""

    def __init__(
        self,
        store: ResultsStore,
        run_id: str,
        run_dir: Path,
        pending: list[Pending],
        slots: list[Slot],
        *,
        retries: int,
        say: Report,
        total: int | None = None,
    ):
        self.store, self.run_id, self.run_dir = store, run_id, run_dir
        self.slots, self.retries, self.say = slots, retries, say
        self._pending = list(pending)
        self._running: dict[str, int] = {}
        self._cond = threading.Condition()
        self._stop = False
        self.failure: BaseException | None = None
        self.done = (total or len(pending)) - len(pending)
        self.total = total or len(pending)

    # -- the queue ----------------------------------------------------------------------

    def _take(self, slot: Slot) -> Pending | None:
        """The next cell for `slot`: one of its pool that has not failed on it (or has
        failed on every slot of the pool); None once its pool has nothing left to run."""
        pool = {s.name for s in self.slots if s.pool == slot.pool}
        with self._cond:
            while not self._stop:
                mine = [p for p in self._pending if p.cell.pool == slot.pool]
                pick = next((p for p in mine if slot.name not in p.avoid or pool <= p.avoid), None)
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
        seen = attempt_cell(
            self.store,
            self.run_id,
            self.run_dir,
            slot,
            item,
            retries=self.retries,
            stopping=lambda: self._stop,
            say=self.say,
        )
        if seen.stopped:
            return None
        if seen.retry:
            return Pending(item.row, item.cell, item.avoid | {slot.name}, item.tries + 1)
        with self._cond:
            self.done += 1
            counts = f"{self.done}/{self.total}"
        detail = f": {seen.error}" if seen.error else ""
        self.say(
            f"[{counts}] {item.cell.key}  {seen.verdict}  ({seen.cases} case(s) on "
            f"{slot.name}, {seen.seconds:.1f} s){detail}"
        )
        return None

    # -- the whole run --------------------------------------------------------------------

    def run(self) -> None:
        """Serve every slot until all cells are done; re-raise what stopped the run."""
        threads = [
            threading.Thread(target=self._serve, args=(s,), name=s.name, daemon=True)
            for s in self.slots
        ]
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
