"""Wait invariants: the WaitStatus handed to the routine is one the configured wait can
produce, and a timeout never fires before it is due."""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract import status as st
from harness.contract.clock import elapsed, ms
from harness.contract.invariants.base import Handler, Invariant
from harness.contract.startctx import (
    StartContext,
    WaitMode,
    WaitType,
    allowed_wait_statuses,
    create_status,
)
from harness.contract.trace import Create, Enter, ThreadExit

__all__ = ["TimeoutEarly", "WaitStatus", "describe_wait", "timeout_text"]


def describe_wait(ctx: StartContext) -> str:
    """`2 events (WaitAny, not alertable, no timeout)`: what decides the allowed statuses."""
    kind = "WaitAny" if ctx.wait_type == WaitType.ANY else "WaitAll"
    alert = "not alertable"
    if ctx.alertable:
        mode = "UserMode" if ctx.wait_mode == WaitMode.USER else "KernelMode"
        alert = f"alertable in {mode}"
    timeout = "no timeout" if ctx.timeout is None else f"timeout {timeout_text(ctx.timeout)}"
    plural = "" if ctx.event_count == 1 else "s"
    return f"{ctx.event_count} event{plural} ({kind}, {alert}, {timeout})"


def timeout_text(timeout: int) -> str:
    if timeout < 0:
        return f"{ms(-timeout)} relative"
    return "0 (poll)" if timeout == 0 else f"absolute {timeout}"


def _name(status: int, ctx: StartContext) -> str:
    """STATUS_WAIT_0 rather than STATUS_SUCCESS (both 0) when the wait is a WaitAny."""
    if status == st.WAIT_0 and ctx.wait_type == WaitType.ANY:
        return "STATUS_WAIT_0"
    return st.name(status)


class WaitStatus(Invariant):
    name = "wait-status"
    description = (
        "the WaitStatus handed to the routine is one the worker's wait can return "
        "(index in range, TIMEOUT/ALERTED/USER_APC only when configured, WaitAll gives SUCCESS)"
    )

    def setup(self) -> None:
        self._allowed: dict[int, tuple[frozenset[int], StartContext]] = {}
        self._cache: dict[StartContext, frozenset[int]] = {}

    def handlers(self) -> Mapping[type, Handler]:
        return {Create: self.on_create, Enter: self.on_enter, ThreadExit: self.on_thread_exit}

    def on_create(self, rec: Create) -> None:
        max_events = self.expectations.max_events
        if rec.worker is None or create_status(rec.context, max_events=max_events) is not None:
            return  # an invalid context makes no thread: create-status judges that
        allowed = self._cache.get(rec.context)
        if allowed is None:
            if len(self._cache) > 256:
                self._cache.clear()
            allowed = self._cache[rec.context] = allowed_wait_statuses(rec.context)
        self._allowed[rec.worker] = (allowed, rec.context)

    def on_enter(self, rec: Enter) -> None:
        entry = self._allowed.get(rec.worker)
        if entry is None or rec.wait_status in entry[0]:
            return
        allowed, ctx = entry
        names = ", ".join(_name(s, ctx) for s in sorted(allowed))
        self.violate(
            f"worker {rec.worker} was handed {_name(rec.wait_status, ctx)} but its wait on "
            f"{describe_wait(ctx)} can only return {names}",
            rec.seq,
        )

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._allowed.pop(rec.worker, None)


class TimeoutEarly(Invariant):
    name = "timeout-early"
    description = (
        "a STATUS_TIMEOUT never arrives before the configured timeout has elapsed (relative "
        "timeouts on interrupt time, less one clock tick; absolute ones on system time)"
    )

    def setup(self) -> None:
        self._slack: list[int] = []  # seq of each timeout that needed the tick's slack
        self._earliest = 0  # how early the earliest of those came

    def handlers(self) -> Mapping[type, Handler]:
        return {Enter: self.on_enter}

    def on_enter(self, rec: Enter) -> None:
        if rec.wait_status != st.TIMEOUT:
            return
        w = self.workers.live.get(rec.worker)
        timeout = None if w is None or w.context is None else w.context.timeout
        if not timeout:
            return  # no timeout, or a poll: nothing can be early
        assert w is not None
        if timeout > 0:
            if rec.t < timeout:
                self.violate(
                    f"worker {rec.worker} got STATUS_TIMEOUT at system time {rec.t}, "
                    f"{ms(timeout - rec.t)} before its absolute timeout {timeout}",
                    rec.seq,
                )
            return
        waited = elapsed(w.since, rec)
        early = -timeout - waited
        if early <= 0:
            return
        clock = "interrupt" if w.since.it is not None and rec.it is not None else "system"
        if early > self.expectations.tick:
            self.violate(
                f"worker {rec.worker} got STATUS_TIMEOUT after waiting at most {ms(waited)} "
                f"of {clock} time (since seq {w.since.seq}) but its timeout is {ms(-timeout)} "
                f"(the kernel may end it one tick, {ms(self.expectations.tick)}, early)",
                w.since.seq,
                rec.seq,
            )
            return
        self._slack.append(rec.seq)
        self._earliest = max(self._earliest, early)

    def finish(self) -> None:
        if self._slack:
            n = len(self._slack)
            self.log.note(
                self.name,
                f"{n} STATUS_TIMEOUT{'s' * (n != 1)} came up to {ms(self._earliest)} before "
                f"{'their' if n != 1 else 'its'} relative timeout (first at seq "
                f"{self._slack[0]}), within the one-tick slack of {ms(self.expectations.tick)}",
            )
