"""The kernel's time unit, in one place: Windows counts time in 100 ns ticks (KeQuery*Time,
wait timeouts, trace records' `t` and `it`), and so does everything in the harness that
talks about kernel time."""

from __future__ import annotations

from typing import Final

__all__ = ["MS", "SECOND", "TICK_NS"]

TICK_NS: Final = 100
"""Nanoseconds in one tick."""
MS: Final = 10_000
"""Ticks in a millisecond."""
SECOND: Final = 1000 * MS
"""Ticks in a second."""
