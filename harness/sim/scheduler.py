"""Virtual time: a deterministic event queue in 100 ns units. Nothing here sleeps.

Callbacks scheduled for the same instant run in the order they were scheduled, so a run is
a pure function of its inputs and seed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import date
from typing import Final

from harness.contract.clock import MS, SECOND

__all__ = ["EPOCH", "MS", "SECOND", "Scheduler", "Timer"]

# System time of the simulated boot: 2026-01-01 UTC, in 100 ns units since 1601-01-01.
EPOCH: Final = (date(2026, 1, 1) - date(1601, 1, 1)).days * 86_400 * SECOND


class Timer:
    """A scheduled callback that can be cancelled before it fires."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: int, callback: Callable[[], None]):
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Runs callbacks in virtual-time order; `frozen` stops it (a debugger break)."""

    def __init__(self, start: int = EPOCH):
        self.now = start
        self.frozen = False
        self._queue: list[tuple[int, int, Timer]] = []
        self._order = 0

    def at(self, when: int, callback: Callable[[], None]) -> Timer:
        timer = Timer(max(when, self.now), callback)
        self._order += 1
        heapq.heappush(self._queue, (timer.when, self._order, timer))
        return timer

    def after(self, delay: int, callback: Callable[[], None]) -> Timer:
        return self.at(self.now + delay, callback)

    def step(self, limit: int) -> bool:
        """Run the next callback due at or before `limit`; False when there is none."""
        while self._queue and not self.frozen:
            when, _, timer = self._queue[0]
            if when > limit:
                return False
            heapq.heappop(self._queue)
            if timer.cancelled:
                continue
            self.now = when
            timer.callback()
            return True
        return False

    def run_until(self, limit: int, stop: Callable[[], bool] | None = None) -> None:
        """Process everything due up to `limit`, or until `stop()` holds or a break freezes."""
        while not (stop and stop()) and self.step(limit):
            pass
        if not self.frozen and not (stop and stop()):
            self.now = max(self.now, limit)
