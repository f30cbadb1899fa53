"""Kernel time: its units, the clock tick, and which of a record's two clocks to compare.

Windows counts time in 100 ns units. System time (`t`, KeQuerySystemTimePrecise) is what
absolute timeouts are compared with; clock adjustments move it. Interrupt time (`it`,
KeQueryInterruptTimePrecise) only runs forward, and relative timeouts run on it. This module
is the one home of these constants: everything else imports them from here.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["MS", "SECOND", "TICK", "Stamped", "elapsed", "ms"]

MS: Final = 10_000
"""100 ns units per millisecond."""
SECOND: Final = 10_000_000
"""100 ns units per second."""
TICK: Final = 156_250
"""The default Windows clock tick, 15.625 ms (64 Hz). The kernel computes a relative
timeout's due time from the tick-updated interrupt time, so such a wait can end up to one
tick earlier than its interval measured with the precise clock."""


class Stamped(Protocol):
    """Anything with the two clocks of a trace record."""

    @property
    def t(self) -> int: ...

    @property
    def it(self) -> int | None: ...


def elapsed(start: Stamped, end: Stamped) -> int:
    """Time from `start` to `end` on interrupt time when both carry it, else on system time."""
    if start.it is not None and end.it is not None:
        return end.it - start.it
    return end.t - start.t


def ms(duration: int) -> str:
    """`12.5 ms`: a duration in 100 ns units, for messages."""
    return f"{duration / MS:g} ms"
