"""IRQL invariants: the routine runs at PASSIVE_LEVEL and returns at the IRQL it entered at."""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract.invariants.base import Handler, Invariant, irql
from harness.contract.trace import Enter, Exit

__all__ = ["IrqlRestored", "PassiveEntry"]


class PassiveEntry(Invariant):
    name = "passive-entry"
    description = "the worker routine is entered at PASSIVE_LEVEL (IRQL 0)"

    def handlers(self) -> Mapping[type, Handler]:
        return {Enter: self.on_enter}

    def on_enter(self, rec: Enter) -> None:
        if rec.irql:
            self.violate(
                f"worker {rec.worker} entered its routine at IRQL {irql(rec.irql)}; "
                "the routine must run at PASSIVE_LEVEL",
                rec.seq,
            )


class IrqlRestored(Invariant):
    name = "irql-restored"
    description = "the routine returns at the IRQL it was entered at"

    def handlers(self) -> Mapping[type, Handler]:
        return {Exit: self.on_exit}

    def on_exit(self, rec: Exit) -> None:
        w = self.workers.live.get(rec.worker)
        enter = None if w is None else w.open
        if enter is None:
            self.violate(
                f"worker {rec.worker} returned from its routine with no matching entry, "
                "so the IRQL it returned at cannot be checked",
                rec.seq,
            )
        elif rec.irql != enter.irql:
            self.violate(
                f"worker {rec.worker} returned at IRQL {irql(rec.irql)} but was entered at "
                f"IRQL {irql(enter.irql)}",
                enter.seq,
                rec.seq,
            )
