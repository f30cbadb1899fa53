"""How the sim target's model time relates to the wall clock.

`VirtualClock`: time passes only when the target is asked to wait, and then at once (the
default: deterministic and fast). `RealClock`: the model keeps pace with the wall clock, so
time passes between actions whether asked or not, and waiting is polling, as on a real
guest. Scenario code that holds on both (`sim:clock=real`) does not lean on the
simulator's instant, exact time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from harness.sim.scheduler import SECOND, Scheduler

__all__ = ["RealClock", "VirtualClock"]

POLL: Final = 0.0005
"""Seconds between looks at the model while waiting on the real clock."""


class VirtualClock:
    def __init__(self, sched: Scheduler):
        self.sched = sched

    def catch_up(self) -> None:
        """Nothing passes between actions on virtual time."""

    def advance(self, limit: int, stop: Callable[[], bool] | None = None) -> None:
        """Run the model up to model time `limit`, or until `stop()` holds."""
        self.sched.run_until(limit, stop=stop)


class RealClock:
    def __init__(self, sched: Scheduler):
        self.sched = sched
        self._start = time.monotonic()
        self._model_start = sched.now

    def _wall(self) -> int:
        """The model time the wall clock has reached."""
        return self._model_start + round((time.monotonic() - self._start) * SECOND)

    def catch_up(self, stop: Callable[[], bool] | None = None) -> None:
        """Run the model up to the wall clock's time."""
        self.sched.run_until(max(self.sched.now, self._wall()), stop=stop)

    def advance(self, limit: int, stop: Callable[[], bool] | None = None) -> None:
        """Keep pace with the wall clock until model time `limit`, or until `stop()` holds."""
        while True:
            self.catch_up(stop)
            if (stop is not None and stop()) or self.sched.now >= limit:
                return
            time.sleep(min(POLL, (limit - self.sched.now) / SECOND))
