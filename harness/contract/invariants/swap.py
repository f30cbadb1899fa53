"""Swap invariants on what runs: versions switch exactly when a swap completes, all endpoints
switch together, nothing runs while a swap is stalled, and a re-registration with another
ParameterCount fails.

The real driver records no `switch` phase. The reference says the pointers change before
the PostProcess callback, so without a switch record they have changed by `post`: a call of
the new version after `stall` is the observed switch, and a call of the old version after
`post` is wrong unless the swap then rolls back (the driver records `rollback` only after
the register call returned, so such a call is judged when `done` says how the swap ended).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.contract import status as st
from harness.contract.invariants.base import Handler, Invariant
from harness.contract.trace import Enter, Swap, SwapPhase

__all__ = ["SwapAllOrNone", "SwapParameters", "SwapStall", "SwapVersion"]

P = SwapPhase


class _Flight:
    """A swap between request and done, as swap-version sees it."""

    __slots__ = (
        "endpoints",
        "late",
        "new",
        "old",
        "post",
        "rolled_back",
        "sid",
        "stalled",
        "switched",
    )

    def __init__(self, rec: Swap) -> None:
        self.sid = rec.swap
        self.old = rec.from_version
        self.new = rec.to_version
        self.endpoints = frozenset(rec.endpoints)
        self.stalled = False
        self.switched = False
        self.rolled_back = False
        self.post: Swap | None = None  # the post record, when no switch was recorded
        self.late: Enter | None = None  # the first old-version call after that post


class SwapVersion(Invariant):
    name = "swap-version"
    description = (
        "each endpoint runs one version at a time; a completed swap switches its endpoints to "
        "the new version once and the old never runs again; a failed swap keeps the old one"
    )

    def setup(self) -> None:
        self._current: dict[int, tuple[int, int]] = {}  # endpoint -> (version, since seq)
        self._flights: dict[int, _Flight] = {}  # swap id -> in-flight swap
        self._by_endpoint: dict[int, _Flight] = {}

    def handlers(self) -> Mapping[type, Handler]:
        return {Enter: self.on_enter, Swap: self.on_swap}

    def on_enter(self, rec: Enter) -> None:
        current = self._current.get(rec.endpoint)
        if current is None:
            self._current[rec.endpoint] = (rec.version, rec.seq)
            return
        version, since = current
        if rec.version == version:
            return
        flight = self._by_endpoint.get(rec.endpoint)
        if (
            flight is not None
            and flight.stalled
            and not flight.switched
            and rec.version == flight.new
        ):  # the switch the real driver does not record
            self._current[rec.endpoint] = (rec.version, rec.seq)
            return
        if (
            flight is not None
            and flight.post is not None
            and not flight.rolled_back
            and rec.version == flight.old
        ):
            flight.late = flight.late or rec  # judged when done says whether it rolled back
            return
        if flight is None:
            why = "no swap is in flight to change it"
        else:
            why = f"swap {flight.sid} in flight has not switched it to version {flight.new}"
        self.violate(
            f"endpoint {rec.endpoint} ran version {rec.version} for worker {rec.worker} but "
            f"its current version is {version} (since seq {since}) and {why}",
            since,
            rec.seq,
        )

    def _set(self, flight: _Flight, version: int, seq: int) -> None:
        for endpoint in flight.endpoints:
            self._current[endpoint] = (version, seq)

    def on_swap(self, rec: Swap) -> None:
        flight = self._flights.get(rec.swap)
        if flight is None:
            flight = self._flights[rec.swap] = _Flight(rec)
            for endpoint in flight.endpoints:
                self._by_endpoint[endpoint] = flight
        phase = rec.phase
        if phase is P.STALL:
            flight.stalled = True
        elif phase is P.POST and not flight.switched:
            flight.post = rec  # the pointers changed before PostProcess
            self._set(flight, flight.new, rec.seq)
        elif phase is P.SWITCH:
            flight.switched = True
            self._set(flight, flight.new, rec.seq)
        elif phase is P.ROLLBACK:
            flight.rolled_back = True
            self._set(flight, flight.old, rec.seq)
        elif phase is P.DONE:
            if rec.status == st.SUCCESS and not flight.rolled_back:
                if not flight.switched:
                    self._set(flight, flight.new, rec.seq)
                if flight.late is not None and flight.post is not None:
                    self.violate(
                        f"endpoint {flight.late.endpoint} ran version {flight.old} for worker "
                        f"{flight.late.worker} after swap {flight.sid}'s post phase (seq "
                        f"{flight.post.seq}), and the swap succeeded: its pointers change "
                        "before PostProcess",
                        flight.post.seq,
                        flight.late.seq,
                    )
            elif not flight.rolled_back:
                self._set(flight, flight.old, rec.seq)
            del self._flights[rec.swap]
            for endpoint in flight.endpoints:
                if self._by_endpoint.get(endpoint) is flight:
                    del self._by_endpoint[endpoint]


class SwapAllOrNone(Invariant):
    name = "swap-all-or-none"
    description = (
        "a swap switches all the endpoints it re-registered or none: the switch covers the "
        "request's endpoints, and after success no re-registered endpoint still runs the old one"
    )

    def setup(self) -> None:
        self._requests: dict[int, Swap] = {}  # swap id -> its request, until done
        self._first: dict[int, _Outcome] = {}  # endpoint -> outcome of its last good swap

    def handlers(self) -> Mapping[type, Handler]:
        return {Enter: self.on_enter, Swap: self.on_swap}

    def on_swap(self, rec: Swap) -> None:
        if rec.phase is P.REQUEST:
            self._requests[rec.swap] = rec
            for endpoint in rec.endpoints:
                self._first.pop(endpoint, None)  # superseded by the new swap
            return
        request = self._requests.get(rec.swap)
        if request is None:
            return
        if rec.phase is P.SWITCH and set(rec.endpoints) != set(request.endpoints):
            self.violate(
                f"swap {rec.swap} switched endpoints {_ids(rec.endpoints)} but re-registered "
                f"{_ids(request.endpoints)}; all must switch or none",
                request.seq,
                rec.seq,
            )
        elif rec.phase is P.DONE:
            del self._requests[rec.swap]
            if rec.status == st.SUCCESS and len(request.endpoints) > 1:
                outcome = _Outcome(rec)
                for endpoint in request.endpoints:
                    self._first[endpoint] = outcome

    def on_enter(self, rec: Enter) -> None:
        if not self._first:
            return
        outcome = self._first.pop(rec.endpoint, None)
        if outcome is None:
            return
        done = outcome.done
        (outcome.new if rec.version == done.to_version else outcome.old).add(rec.endpoint)
        if outcome.new and outcome.old and not outcome.reported:
            outcome.reported = True
            self.violate(
                f"after swap {done.swap} completed, endpoints {_ids(outcome.old)} still ran the "
                f"old version while {_ids(outcome.new)} ran version {done.to_version}; "
                "the swap switched only some of its endpoints",
                done.seq,
                rec.seq,
            )


class _Outcome:
    """Which endpoints of a completed swap ran the new or the old version on their first call."""

    __slots__ = ("done", "new", "old", "reported")

    def __init__(self, done: Swap) -> None:
        self.done = done
        self.new: set[int] = set()
        self.old: set[int] = set()
        self.reported = False


def _ids(endpoints: Iterable[int]) -> str:
    return "{" + ", ".join(str(e) for e in sorted(endpoints)) + "}"


class SwapStall(Invariant):
    name = "swap-stall"
    description = (
        "no invocation starts while a swap is stalled, and none is in flight when a swap "
        "stalls or switches"
    )

    def setup(self) -> None:
        self._stalled: dict[int, int] = {}  # swap id -> seq of its stall

    def handlers(self) -> Mapping[type, Handler]:
        return {Enter: self.on_enter, Swap: self.on_swap}

    def on_enter(self, rec: Enter) -> None:
        if self._stalled:
            sid, since = next(iter(self._stalled.items()))
            self.violate(
                f"worker {rec.worker} entered its routine while swap {sid} was stalled "
                f"(since seq {since})",
                since,
                rec.seq,
            )

    def on_swap(self, rec: Swap) -> None:
        phase = rec.phase
        if phase is P.STALL or phase is P.SWITCH:
            for worker, w in self.workers.live.items():
                if w.open is not None:
                    self.violate(
                        f"swap {rec.swap} reached {phase!s} while worker {worker}'s invocation "
                        f"(entered at seq {w.open.seq}) was still in flight",
                        w.open.seq,
                        rec.seq,
                    )
            if phase is P.STALL:
                self._stalled[rec.swap] = rec.seq
        elif phase is P.POST or phase is P.ROLLBACK or phase is P.DONE:
            self._stalled.pop(rec.swap, None)


class SwapParameters(Invariant):
    name = "swap-parameters"
    description = (
        "a re-registration that changes an endpoint's ParameterCount fails with "
        "STATUS_INVALID_PARAMETER_3 before any phase, and one that keeps them never does"
    )

    def setup(self) -> None:
        self._changed: dict[int, Swap] = {}  # swap id -> its request, while in flight

    def handlers(self) -> Mapping[type, Handler]:
        return {Swap: self.on_swap}

    def on_swap(self, rec: Swap) -> None:
        if rec.phase is P.REQUEST:
            if rec.parameter_counts and rec.current_counts:
                self._changed[rec.swap] = rec
            return
        request = self._changed.get(rec.swap)
        if request is None:
            return
        changed = [
            e
            for e, new, old in zip(
                request.endpoints, request.parameter_counts, request.current_counts, strict=False
            )
            if new != old
        ]
        if changed and rec.phase is not P.DONE:
            del self._changed[rec.swap]
            self.violate(
                f"swap {rec.swap} re-registered endpoint {changed[0]} with another "
                f"ParameterCount, yet reached its {rec.phase!s} phase; the call must fail "
                "with STATUS_INVALID_PARAMETER_3 before any phase",
                request.seq,
                rec.seq,
            )
        elif rec.phase is P.DONE:
            del self._changed[rec.swap]
            if changed and rec.status != st.INVALID_PARAMETER_3:
                self.violate(
                    f"swap {rec.swap} re-registered endpoint {changed[0]} with another "
                    f"ParameterCount and returned {st.name(rec.status or 0)}; it must return "
                    "STATUS_INVALID_PARAMETER_3",
                    request.seq,
                    rec.seq,
                )
            elif not changed and rec.status == st.INVALID_PARAMETER_3:
                self.violate(
                    f"swap {rec.swap} kept every ParameterCount but returned "
                    "STATUS_INVALID_PARAMETER_3",
                    request.seq,
                    rec.seq,
                )
