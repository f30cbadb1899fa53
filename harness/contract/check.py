"""Judging a trace against the DriverProxy contract: `check`, the streaming `Checker`, and
`INVARIANTS`, the names a caller may disable.

The checker is pure: it is fed decoded records in `seq` order and returns `Violation`s. Each
record goes to the handlers registered for its type only, so the per-record cost is a dict
lookup and the handlers that care; state is kept per live worker and in-flight swap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from harness.contract.invariants import ALL, Invariant, Violation, ViolationLog, Workers
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

_RECORD_TYPES: Final = (Probe, Create, Wait, Signal, Alert, Enter, Exit, ThreadExit, Swap)
_QUIET_TYPES: Final = (Unload, Mark)


def _chain(handlers: tuple[Callable[[Record], None], ...]) -> Callable[[Record], None]:
    """One function calling `handlers` in order.

    Generated source (as namedtuple does) rather than a loop over a tuple: a straight run of
    calls saves the loop's per-handler overhead, which dominates on records with many handlers.
    """
    if len(handlers) == 1:
        return handlers[0]
    names = [f"h{i}" for i in range(len(handlers))]
    source = "def run(rec):\n" + "".join(f"    {name}(rec)\n" for name in names)
    namespace: dict[str, object] = dict(zip(names, handlers, strict=True))
    exec(source, namespace)  # names and calls only: no outside text reaches the source
    run: Callable[[Record], None] = namespace["run"]  # type: ignore[assignment]
    return run


class Checker:
    """Streaming checker: feed() records in seq order, then finish() once."""

    def __init__(
        self,
        expectations: Expectations,
        *,
        disabled: Iterable[str] = (),
        cap: int = 50,
    ) -> None:
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
        self._invariants: list[Invariant] = [
            cls(expectations, self._log, workers) for cls in ALL if cls.name not in disabled
        ]
        lists: dict[type, list[Callable[[Record], None]]] = {
            kind: [] for kind in _RECORD_TYPES + _QUIET_TYPES
        }
        # Workers last: invariants see each worker as it was before the record at hand
        parts: list[Invariant | Workers] = [*self._invariants, workers]
        for part in parts:
            for kind, handler in part.handlers().items():
                lists[kind].append(handler)
        nothing: Callable[[Record], None] = _ignore
        self._dispatch: dict[type, Callable[[Record], None]] = {
            kind: _chain(tuple(hs)) if hs else nothing for kind, hs in lists.items()
        }
        self._finished = False

    def feed(self, record: Record) -> None:
        self._dispatch[type(record)](record)
        self.records += 1

    def feed_many(self, records: Iterable[Record]) -> None:
        dispatch = self._dispatch
        if isinstance(records, list):
            for rec in records:
                dispatch[type(rec)](rec)
            self.records += len(records)
            return
        n = 0
        for n, rec in enumerate(records, 1):  # noqa: B007 - n is the count afterwards
            dispatch[type(rec)](rec)
        self.records += n

    def finish(self) -> list[Violation]:
        """End of trace: report what is left open; returns every violation found."""
        if not self._finished:
            self._finished = True
            for inv in self._invariants:
                inv.finish()
        return self._log.violations()


def _ignore(rec: Record) -> None:
    pass


def check(
    records: Iterable[Record], expectations: Expectations, *, disabled: Iterable[str] = ()
) -> list[Violation]:
    """Every violation of the contract in `records` (the header's expectations apply)."""
    checker = Checker(expectations, disabled=disabled)
    checker.feed_many(records)
    return checker.finish()
