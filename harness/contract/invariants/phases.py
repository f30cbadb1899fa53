"""The swap-phases invariant: each swap runs request, pre, stall, (switch), post, done.

A rollback may follow any phase and then only done may come; done comes last with a status,
and done with STATUS_SUCCESS needs post and no rollback. Swaps are identified by `swap`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from harness.contract import status as st
from harness.contract.invariants.base import Handler, Invariant, RecentIds
from harness.contract.trace import Swap, SwapPhase

__all__ = ["SwapPhases"]

P = SwapPhase
# phase -> the phases it may directly follow (rollback and done are handled apart)
_AFTER: Final = {
    P.PRE: {P.REQUEST},
    P.STALL: {P.PRE},
    P.SWITCH: {P.STALL},
    P.POST: {P.STALL, P.SWITCH},
}
_RANK: Final = {P.REQUEST: 0, P.PRE: 1, P.STALL: 2, P.SWITCH: 3, P.POST: 4}
_ORDER: Final = "request, pre, stall, (switch), post, done"


class _Swap:
    __slots__ = ("failed", "last", "post", "rollback", "start")

    def __init__(self, rec: Swap) -> None:
        self.start = rec.seq
        self.last = rec
        self.post = False
        self.rollback: int | None = None
        self.failed: Swap | None = None  # the phase whose callback returned a failure


class SwapPhases(Invariant):
    name = "swap-phases"
    description = (
        f"each swap runs its phases in order ({_ORDER}), each at most once; after a rollback "
        "only done; done last with a status; success needs post and no rollback; a callback "
        "that failed rolls the swap back"
    )

    def setup(self) -> None:
        self._open: dict[int, _Swap] = {}
        self._done = RecentIds()  # swap id -> seq of its done record

    def handlers(self) -> Mapping[type, Handler]:
        return {Swap: self.on_swap}

    def on_swap(self, rec: Swap) -> None:
        sid = rec.swap
        done = self._done.get(sid)
        if done is not None:
            self.violate(f"swap {sid} recorded {rec.phase!s} after it was done", done, rec.seq)
            return
        state = self._open.get(sid)
        if state is None:
            if rec.phase is not P.REQUEST:
                self.violate(f"swap {sid} began with {rec.phase!s} instead of request", rec.seq)
            state = self._open[sid] = _Swap(rec)
            if rec.phase is P.DONE:
                del self._open[sid]
                self._done.add(sid, rec.seq)
            return
        if rec.phase is P.DONE:
            self._on_done(state, rec)
        elif rec.phase is P.ROLLBACK:
            self._on_rollback(state, rec)
        else:
            self._on_step(state, rec)

    def _on_step(self, state: _Swap, rec: Swap) -> None:
        last = state.last
        if state.failed is not None and state.rollback is None:
            self.violate(
                f"swap {rec.swap} ran {rec.phase!s} after its {state.failed.phase!s} callback "
                f"returned {st.name(state.failed.status or 0)}; a failing callback rolls the "
                "swap back",
                state.failed.seq,
                rec.seq,
            )
            state.failed = None  # reported once
        elif state.rollback is not None:
            self.violate(
                f"swap {rec.swap} ran {rec.phase!s} after it rolled back; only done may follow",
                state.rollback,
                rec.seq,
            )
        elif last.phase not in _AFTER.get(rec.phase, ()):
            self.violate(
                f"swap {rec.swap} ran {rec.phase!s} right after {last.phase!s}; "
                f"phases must run {_ORDER}, each once",
                last.seq,
                rec.seq,
            )
        if _RANK[rec.phase] > _RANK.get(last.phase, 5):
            state.last = rec  # the furthest phase reached, so one slip is reported once
        state.post = state.post or rec.phase is P.POST
        if rec.status is not None and not st.is_success(rec.status):
            state.failed = rec

    def _on_rollback(self, state: _Swap, rec: Swap) -> None:
        if state.rollback is not None:
            self.violate(f"swap {rec.swap} rolled back twice", state.rollback, rec.seq)
        state.rollback = rec.seq
        state.last = rec

    def _on_done(self, state: _Swap, rec: Swap) -> None:
        del self._open[rec.swap]
        self._done.add(rec.swap, rec.seq)
        if rec.status is None:
            self.violate(f"swap {rec.swap} is done but its record has no status", rec.seq)
        elif rec.status == st.SUCCESS and state.rollback is not None:
            self.violate(
                f"swap {rec.swap} returned STATUS_SUCCESS although it rolled back",
                state.rollback,
                rec.seq,
            )
        elif rec.status == st.SUCCESS and not state.post:
            self.violate(
                f"swap {rec.swap} returned STATUS_SUCCESS without running its post phase",
                state.start,
                rec.seq,
            )
        elif rec.status == st.SUCCESS and state.failed is not None:
            self.violate(
                f"swap {rec.swap} returned STATUS_SUCCESS although its {state.failed.phase!s} "
                f"callback returned {st.name(state.failed.status or 0)}",
                state.failed.seq,
                rec.seq,
            )

    def finish(self) -> None:
        for sid, state in self._open.items():
            self.violate(
                f"swap {sid} never finished: its last phase was {state.last.phase!s} "
                "and no done record followed",
                state.start,
                state.last.seq,
            )
