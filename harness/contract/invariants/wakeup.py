"""The wake invariants: `lost-wakeup` and `spurious-wake`, both judged by the shared
`WakeModel` (harness/contract/invariants/wakes.py), which says what the records prove."""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract.invariants.base import Handler, Invariant

__all__ = ["LostWakeup", "SpuriousWake"]


class LostWakeup(Invariant):
    name = "lost-wakeup"
    description = (
        "a wake that is due comes: objects are tested before alerts and the timeout, WaitAny "
        "returns the lowest set index, a set or alert before the timeout is due wins, and a "
        "waiting worker with a due wake is entered within the expected latency"
    )

    def setup(self) -> None:
        self.workers.wake_model(self.expectations).lost = self.violate

    def handlers(self) -> Mapping[type, Handler]:
        return {}  # the model's handlers do the work

    def finish(self) -> None:
        model = self.workers.wakes
        if model is not None:
            model.finish(self.workers.last)


class SpuriousWake(Invariant):
    name = "spurious-wake"
    description = (
        "every wake has a cause not consumed by an earlier one: one pending set of a "
        "synchronization event gives one wake, sets while the routine runs coalesce, an "
        "alert gives one STATUS_ALERTED"
    )

    def setup(self) -> None:
        self.workers.wake_model(self.expectations).spurious = self.violate

    def handlers(self) -> Mapping[type, Handler]:
        return {}
