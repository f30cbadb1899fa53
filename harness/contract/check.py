"""Judging a trace against the DriverProxy contract: `check`, the streaming `Checker`, and
`INVARIANTS`, the names a caller may disable.

The checker is pure: it is fed decoded records in `seq` order and returns `Violation`s. Each
record goes to the handlers registered for its type only, so the per-record cost is a dict
lookup and the handlers that care; state is kept per live worker and in-flight swap.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Final

from harness.contract.dispatch import Dispatch, Handler
from harness.contract.invariants import ALL, Invariant, Violation, ViolationLog, Workers
from harness.contract.invariants.wakes import WakeModel
from harness.contract.trace import (
    Alert,
    Create,
    Enter,
    Exit,
    Expectations,
    Mark,
    Probe,
    Record,
    Signal,
    Swap,
    ThreadExit,
    Unload,
    Wait,
)

__all__ = ["INVARIANTS", "Checker", "Violation", "check"]

INVARIANTS: Final[dict[str, str]] = {inv.name: inv.description for inv in ALL}
"""Invariant name -> one-line description, in checking order."""

# every record type, the most frequent first: the dispatch tests types in this order
_ORDER: Final = (Enter, Exit, Wait, Signal, Swap, Alert, Create, ThreadExit, Probe, Unload, Mark)


class Checker:
    """Streaming checker: feed() records in seq order, then finish() once."""

    def __init__(
        self,
        expectations: Expectations,
        *,
        disabled: Iterable[str] = (),
        cap: int = 50,
        partial: bool = False,
    ) -> None:
        """`partial`: the trace starts mid-run (its header says so)."""
        disabled = set(disabled)
        unknown = sorted(disabled - INVARIANTS.keys())
        if unknown:
            raise ValueError(
                f"unknown invariant {', '.join(unknown)}; known: {', '.join(INVARIANTS)}"
            )
        self.expectations = expectations
        self.records = 0
        self._log = ViolationLog(cap)
        workers = Workers()
        workers.partial = partial
        self._invariants: list[Invariant] = [
            cls(expectations, self._log, workers) for cls in ALL if cls.name not in disabled
        ]
        lists: dict[type, list[Handler]] = {kind: [] for kind in _ORDER}
        # Workers last: invariants see each worker as it was before the record at hand
        self._workers = workers
        parts: list[Invariant | Workers | WakeModel] = [*self._invariants]
        if workers.wakes is not None:
            parts.append(workers.wakes)
        parts.append(workers)
        for part in parts:
            for kind, handler in part.handlers().items():
                lists[kind].append(handler)
        self._run = Dispatch(lists, _ORDER).run
        self._finished = False

    @property
    def live_workers(self) -> int:
        """Workers whose thread has not exited: the state the checker holds grows with these."""
        return len(self._workers.live)

    @property
    def violation_count(self) -> int:
        """Violations found so far, including those past the cap that are only counted."""
        return self._log.count()

    def feed(self, record: Record) -> None:
        self._run((record,))
        self.records += 1
        self._workers.last = record

    def feed_many(self, records: Iterable[Record]) -> None:
        if isinstance(records, (list, tuple)):
            if records:
                self._run(records)
                self.records += len(records)
                self._workers.last = records[-1]
            return
        it = iter(records)
        while batch := list(islice(it, 4096)):  # bounded memory for endless iterators
            self._run(batch)
            self.records += len(batch)
            self._workers.last = batch[-1]

    def finish(self) -> list[Violation]:
        """End of trace: report what is left open; returns every violation found."""
        if not self._finished:
            self._finished = True
            for inv in self._invariants:
                inv.finish()
        return self._log.violations()

    @property
    def notes(self) -> list[Violation]:
        """What a person should know about how the trace was judged (not violations)."""
        return list(self._log.notes)


def check(
    records: Iterable[Record], expectations: Expectations, *, disabled: Iterable[str] = ()
) -> list[Violation]:
    """Every violation of the contract in `records` (the header's expectations apply)."""
    checker = Checker(expectations, disabled=disabled)
    checker.feed_many(records)
    return checker.finish()
