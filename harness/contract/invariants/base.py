"""What every invariant is built from: `Violation`, the capped `ViolationLog`, the `Invariant`
base class, and small bounded state shared by several invariants.

An invariant is a small object with a name, a one-line description and one handler per record
kind it cares about. The checker calls the handlers in trace order; an invariant keeps state
only for live workers and in-flight swaps, so memory stays flat however long the trace is.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Final

import msgspec

from harness.contract.dispatch import Handler
from harness.contract.trace import Expectations

if TYPE_CHECKING:
    from harness.contract.invariants.workers import Workers

__all__ = ["IRQL_NAMES", "Handler", "Invariant", "RecentIds", "Violation", "ViolationLog", "irql"]

IRQL_NAMES: Final = {0: "PASSIVE_LEVEL", 1: "APC_LEVEL", 2: "DISPATCH_LEVEL", 15: "HIGH_LEVEL"}


def irql(level: int) -> str:
    """`2 (DISPATCH_LEVEL)`, or the bare number for device IRQLs."""
    known = IRQL_NAMES.get(level)
    return f"{level} ({known})" if known else str(level)


class Violation(msgspec.Struct, frozen=True):
    """One breach of the contract: which invariant, why, and the offending record seqs."""

    invariant: str
    message: str
    records: tuple[int, ...] = ()


class ViolationLog:
    """Collects violations, keeping the first `cap` per invariant and counting the rest."""

    def __init__(self, cap: int = 50) -> None:
        self.cap = cap
        self._kept: list[Violation] = []
        self._counts: dict[str, int] = {}
        self.notes: list[Violation] = []
        """Not violations: what a person should know about how the trace was judged (for
        example, that a tolerance was used)."""

    def note(self, invariant: str, message: str, *records: int) -> None:
        self.notes.append(Violation(invariant, message, tuple(sorted(records))))

    def add(self, invariant: str, message: str, *records: int) -> None:
        n = self._counts.get(invariant, 0) + 1
        self._counts[invariant] = n
        if n <= self.cap:
            self._kept.append(Violation(invariant, message, tuple(sorted(records))))

    def count(self, invariant: str | None = None) -> int:
        """Violations found of `invariant`, or of all invariants, listed or not."""
        if invariant is None:
            return sum(self._counts.values())
        return self._counts.get(invariant, 0)

    def violations(self) -> list[Violation]:
        """The kept violations in detection order, then one summary per capped invariant."""
        out = list(self._kept)
        for name, n in self._counts.items():
            if n > self.cap:
                rest = n - self.cap
                out.append(
                    Violation(name, f"{rest} more {name} violations were found but not listed")
                )
        return out


class Invariant:
    """Base of every invariant; subclasses set `name` and `description`, add handlers, and
    set up their own state in `setup`."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, expectations: Expectations, log: ViolationLog, workers: Workers) -> None:
        self.expectations = expectations
        self.log = log
        self.workers = workers
        self.setup()

    def setup(self) -> None:
        """Initialise the invariant's own state (called once by the constructor)."""

    def handlers(self) -> Mapping[type, Handler]:
        """Record type -> handler for each kind this invariant looks at."""
        raise NotImplementedError

    def violate(self, message: str, *records: int) -> None:
        self.log.add(self.name, message, *records)

    def finish(self) -> None:
        """End of the trace: report what was left unresolved."""


class RecentIds(OrderedDict[int, int]):
    """The most recent `size` ids (id -> seq), so "ended" sets stay bounded on endless traces.

    A dict subclass so that `in` and `get` stay C calls on the hot path.
    """

    def __init__(self, size: int = 1 << 16) -> None:
        super().__init__()
        self.size = size

    def add(self, key: int, value: int) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
