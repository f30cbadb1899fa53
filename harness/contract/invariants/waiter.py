"""What one worker's wait may be woken by: `Cause` (an event, its alerts, its user APCs)
with a lower and an upper bound on its state, and `Waiter`, a worker's causes with bit masks
over its events. The bookkeeping of harness.contract.invariants.wakes, which judges with it.
"""

from __future__ import annotations

from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType
from harness.contract.trace import Alert, Create, Exit, Signal, Wait

__all__ = ["Cause", "Record", "Waiter", "bits"]

Record = Signal | Alert
"""What sets a cause."""


class Cause:
    """One wake cause of a worker (an event, its alerts): bounds on its state."""

    __slots__ = ("certain", "first", "label", "more", "units")

    def __init__(self, label: str) -> None:
        self.label = label
        self.certain: Record | None = None
        """The record that certainly set it and is not consumed; None: maybe not set."""
        self.units = 0
        """Wakes it can still pay for, not counting this wait's `first`/`more`."""
        self.first: Record | None = None
        """The first record of it during the current wait (still unresolved)."""
        self.more = 0
        """How many more records of it came during the current wait."""

    def running(self, rec: Record) -> None:
        """A set while the worker runs its routine: certain; coalesces with a set one."""
        if self.certain is None:
            self.certain = rec
            self.units += 1

    def waiting(self, rec: Record) -> None:
        if self.first is None:
            self.first = rec
        else:
            self.more += 1

    def available(self) -> int:
        return self.units + (self.first is not None) + self.more

    def consume(self) -> None:
        """A wake consumed it; what came during the wait may have landed after the wake."""
        units = self.units + (self.first is not None) + self.more - 1
        self.units = units if units > 0 else 0
        self.certain = self.first = None
        self.more = 0

    def keep(self) -> None:
        """The wake did not consume it: what came during the wait certainly set it."""
        if self.first is not None:
            self.running(self.first)
        self.first = None
        self.more = 0


class Waiter:
    """One worker with a valid start context. `ready` and `window` are bit masks over its
    events (bit i: event i is certainly set / was signalled during the current wait), so the
    common wake costs a few integer operations whatever the number of events."""

    __slots__ = (
        "alerts",
        "apc",
        "ctx",
        "events",
        "ready",
        "running",
        "since",
        "sticky",
        "wait_any",
        "window",
    )

    def __init__(self, ctx: StartContext, since: Create, clears_notification: bool) -> None:
        self.ctx = ctx
        self.wait_any = ctx.wait_type == WaitType.ANY
        # events a wake does not reset: notification events when the routine leaves them set
        self.sticky = (
            0
            if clears_notification
            else sum(1 << i for i, kind in enumerate(ctx.events) if kind == EventKind.NOTIFICATION)
        )
        self.events = [Cause(f"event {i}") for i in range(ctx.event_count)]
        self.ready = 0
        self.window = 0
        self.alerts = Cause("an alert") if ctx.alertable else None
        user = ctx.alertable and ctx.wait_mode == WaitMode.USER
        # a user APC to a system thread stays queued: it never runs, never is consumed
        self.apc = Cause("a queued user APC") if user else None
        self.running = False
        self.since: Create | Wait | Exit = since

    def causes(self) -> list[Cause]:
        return [c for c in (self.alerts, self.apc) if c is not None]

    def keep_window(self) -> None:
        """What came during the wait was not consumed by its wake: it is set now."""
        self.ready |= self.window
        for i in bits(self.window):
            self.events[i].keep()
        self.window = 0

    def consume(self, i: int) -> None:
        self.events[i].consume()
        self.ready &= ~(1 << i)
        self.window &= ~(1 << i)

    def lowest_ready(self) -> tuple[int, Record] | None:
        if not self.ready:
            return None
        i = (self.ready & -self.ready).bit_length() - 1
        cause = self.events[i].certain
        assert cause is not None
        return i, cause


def bits(mask: int) -> list[int]:
    """The indexes of the bits set in `mask`, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
