"""What a farm worker holds while it serves jobs: the store, its machine slots per queue (each
with its cell worker process, as `harness nightly` has them), and where this host keeps each
lab config it serves. A job borrows a slot of its queue for the length of one attempt."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import ConfigError
from harness.farm.jobs import RetryCell, queue_of
from harness.nightly.attempt import Pending, attempt_cell
from harness.nightly.machines import Slot
from harness.plan.resolve import lab_config, pool_size
from harness.store.results import AttemptLostError, ResultsStore

__all__ = ["Runtime"]


class Runtime:
    def __init__(
        self,
        store: ResultsStore,
        serves: list[str],
        *,
        parallel: int,
        name: str,
        logs: Path,
        say: Callable[[str], None],
    ) -> None:
        """`serves`: `sim` and/or `lab:CONFIG` (a lab config on this host)."""
        self.store, self.say = store, say
        self.name = f"{socket.gethostname()}/{name}"
        self.labs: dict[str, str] = {}
        self._slots: dict[str, queue.Queue[Slot]] = {}
        self._all: list[Slot] = []
        self._finish = threading.Lock()
        for serve in serves:
            if serve == "sim":
                pool, size = "sim", parallel
            elif serve.startswith("lab:") and Path(lab_config(serve)).is_file():
                pool, size = str(Path(lab_config(serve)).resolve()), pool_size(serve)
                self.labs[queue_of(pool)] = pool
            else:
                raise ConfigError(
                    f"--serve {serve}: use sim or lab:CONFIG (an existing lab config on this host)"
                )
            slots: queue.Queue[Slot] = queue.Queue()
            for i in range(size):
                slot = Slot(pool, i, logs)
                slot.name = f"{self.name}:{slot.name}"
                slots.put(slot)
                self._all.append(slot)
            self._slots[queue_of(pool)] = slots

    @property
    def queues(self) -> list[str]:
        return list(self._slots)

    @property
    def concurrency(self) -> int:
        return len(self._all)

    def run_cell(self, run_id: str, cell_id: int, *, retries: int, tries: int) -> str:
        row, run = self.store.cell(cell_id), self.store.run(run_id)
        if row is None or run is None:
            return f"cell {cell_id} of run {run_id} is not in the store: nothing to do"
        if row.state == "done":  # a job run again after its cell was finished
            return f"cell {row.key} is already done"
        cell = row.cell(self.store.driver_files(row.build_id))
        if cell.kind == "lab":  # this host's copy of the lab config
            local = self.labs[queue_of(cell.pool)]
            cell = msgspec.structs.replace(cell, spec=cell.spec.replace(cell.pool, local, 1))
        slots = self._slots[queue_of(cell.pool)]
        slot = slots.get()
        try:
            seen = attempt_cell(
                self.store,
                run_id,
                Path(run.directory),
                slot,
                Pending(row, cell, tries=tries),
                retries=retries,
                say=self.say,
            )
        except AttemptLostError as e:  # this worker was taken for dead: the cell is not ours
            self.say(f"{row.key}: {e}")
            return f"taken over: {e}"
        finally:
            slots.put(slot)
        if seen.retry:
            raise RetryCell(f"cell {row.key}: {seen.error or 'infrastructure error'}")
        self.say(
            f"{cell.key}  {seen.verdict}  ({seen.cases} case(s) on {slot.name}, "
            f"{seen.seconds:.1f} s)"
        )
        with self._finish:
            if all(c.state == "done" for c in self.store.cells(run_id)):
                self.store.finish_run(run_id, "done")
                self.say(f"run {run_id} is done")
        return seen.verdict

    def tick(self, plan: str, timestamp: int, app: Any) -> str:
        from harness.errors import HarnessError
        from harness.farm.enqueue import enqueue_plan

        try:
            run_id = enqueue_plan(self.store, plan, app=app)
        except HarnessError as e:
            self.say(f"nightly tick {timestamp}: skipped: {e}")
            return f"skipped: {e}"
        self.say(f"nightly tick {timestamp}: run {run_id} of {plan} queued")
        return run_id

    def stop(self) -> None:
        for slot in self._all:
            slot.stop()
