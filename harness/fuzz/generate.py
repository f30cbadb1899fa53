"""Hypothesis strategies for random scenario programs.

`programs()` draws whole programs as data. It covers the space the contract spans: 1 to 64
events of both kinds, WaitAny and WaitAll, every kind of timeout (none, relative, absolute,
poll), alertable waits in both modes, invalid start contexts; signals, alerts and user APCs
at any moment, including while the routine runs (busy or held at the gate); swaps from
either image to either image, waiting or not, with calls in flight through either
endpoint, failing callbacks in any phase, parameter mismatches; unloads. Choices are
weighted towards what exercises the most (few events, valid contexts) and every weight
list starts with the simplest choice, so that Hypothesis shrinks towards it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
from hypothesis import strategies as st

from harness import actions as act
from harness.contract import status as st_
from harness.contract.startctx import (
    EventKind,
    StartContext,
    WaitMode,
    WaitReason,
    WaitType,
    relative,
)
from harness.contract.startctx import Routine as RoutineKind
from harness.fuzz.program import Alert, Create, Pause, Program, Routine, Signal, Step

__all__ = ["MAX_STEPS", "programs"]

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]

MAX_STEPS = 40

_PAUSES_MS = (0.01, 0.05, 0.2, 1.0, 5.0, 20.0)
_RELATIVE_MS = (1.0, 2.0, 0.1, 5.0, 0.5, 10.0, 30.0)
_DEADLINES_MS = (5.0, 1.0, 20.0, 0.0, -5.0)
_BUSY_US = (0, 10, 100, 1000)
_INVALID = ("null_routine", "raw_routine", "no_events", "too_many_events", "wait_type",
            "wait_mode", "wait_reason")


@functools.cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _pick(draw: Draw, weighted: Sequence[tuple[T, int]]) -> T:
    """One of the values, with the given weights; shrinks towards the first."""
    total = sum(w for _, w in weighted)
    n = draw(_ints(0, total - 1))
    for value, weight in weighted:
        if n < weight:
            return value
        n -= weight
    raise AssertionError("unreachable")


def _event_count(draw: Draw) -> int:
    band = _pick(draw, [((1, 3), 12), ((4, 8), 3), ((9, 64), 1)])
    count: int = draw(_ints(*band))
    return count


def _timeout(draw: Draw) -> tuple[int | None, float | None]:
    """(context timeout, absolute deadline in ms from now)."""
    kind = _pick(draw, [("none", 5), ("relative", 4), ("absolute", 1), ("poll", 1)])
    if kind == "relative":
        return relative(draw(st.sampled_from(_RELATIVE_MS))), None
    if kind == "absolute":
        return None, draw(st.sampled_from(_DEADLINES_MS))
    return (0 if kind == "poll" else None), None


def _invalidate(draw: Draw, ctx: StartContext) -> StartContext:
    fault = draw(st.sampled_from(_INVALID))
    if fault in ("null_routine", "raw_routine"):
        routine = RoutineKind.NULL if fault == "null_routine" else RoutineKind.RAW
        return msgspec.structs.replace(ctx, routine=routine)
    if fault in ("no_events", "too_many_events"):
        count = 0 if fault == "no_events" else draw(_ints(65, 70))
        return msgspec.structs.replace(ctx, events=(EventKind.SYNC,) * count)
    bad = {"wait_type": (2, 9), "wait_mode": (2, 9), "wait_reason": (44, 99)}[fault]
    return msgspec.structs.replace(ctx, **{fault: draw(_ints(*bad))})


def _statuses(ctx: StartContext) -> list[int]:
    """WaitStatus values a routine may be handed (those it can flip its answer on)."""
    if ctx.wait_type == WaitType.ALL:
        out = [st_.SUCCESS]
    else:
        out = [st_.wait(i) for i in range(min(ctx.event_count, 4))]
    return [*out, st_.TIMEOUT, st_.ALERTED, st_.USER_APC]


def _routine(draw: Draw, ctx: StartContext, polls: bool) -> Routine:
    ends = _pick(draw, [(False, 9), (True, 1)])
    statuses = _statuses(ctx)
    flip = draw(st.lists(st.sampled_from(statuses), max_size=2, unique=True))
    if polls and not ends and st_.TIMEOUT not in flip and _pick(draw, [(True, 4), (False, 1)]):
        flip.append(st_.TIMEOUT)  # a poll that never ends spins: mostly let it end
    return Routine(ends=ends, flip_on=tuple(flip), busy_us=draw(st.sampled_from(_BUSY_US)),
                   gated=_pick(draw, [(False, 3), (True, 1)]))


def _create(draw: Draw) -> tuple[Create, int]:
    """A create step and the event count it names."""
    n = _event_count(draw)
    notification = draw(_ints(0, (1 << n) - 1))  # bit i: event i is a notification event
    kinds = tuple(EventKind.NOTIFICATION if notification >> i & 1 else EventKind.SYNC
                  for i in range(n))
    timeout, deadline = _timeout(draw)
    ctx = StartContext(
        events=kinds,
        wait_type=_pick(draw, [(WaitType.ANY, 3), (WaitType.ALL, 1)]),
        wait_mode=_pick(draw, [(WaitMode.KERNEL, 2), (WaitMode.USER, 1)]),
        wait_reason=_pick(draw, [(WaitReason.EXECUTIVE, 2), (WaitReason.USER_REQUEST, 1)]),
        alertable=draw(st.booleans()), timeout=timeout)
    if _pick(draw, [(False, 15), (True, 1)]):
        ctx = _invalidate(draw, ctx)
    step = Create(context=ctx, routine=_routine(draw, ctx, timeout == 0),
                  endpoint=draw(_ints(1, 2)),
                  free_context=_pick(draw, [(True, 1), (False, 1)]),
                  deadline_ms=deadline)
    return step, max(n, 1)


def _worker(draw: Draw, counts: list[int]) -> int:
    """A create ordinal: mostly one made already (the newest most often, so that steps
    pile up on one worker), sometimes one that never was."""
    if not counts or _pick(draw, [(False, 30), (True, 1)]):
        return len(counts) + 1
    if _pick(draw, [(True, 1), (False, 1)]):
        return len(counts)
    ordinal: int = draw(_ints(1, len(counts)))
    return ordinal


def _signals(draw: Draw, counts: list[int]) -> list[Signal]:
    """One to three signals to one worker at the same instant, sometimes to an event it
    does not have."""
    w = _worker(draw, counts)
    events = counts[w - 1] if w <= len(counts) else 1
    out = []
    for _ in range(draw(_ints(1, 3))):
        invalid = _pick(draw, [(False, 30), (True, 1)])
        out.append(Signal(worker=w, event=events if invalid else draw(
            _ints(0, events - 1))))
    return out


def _swap(draw: Draw) -> act.Swap:
    return act.Swap(to_version=draw(_ints(1, 2)),
                    wait=_pick(draw, [(True, 3), (False, 2)]),
                    fail_phase=_pick(draw, [(None, 6), ("pre", 1), ("stall", 1), ("post", 1)]),
                    parameter_mismatch=_pick(draw, [(False, 9), (True, 1)]))


@st.composite
def programs(draw: Draw, max_steps: int = MAX_STEPS) -> Program:
    """A random program of 1 to `max_steps` steps (and a simulator seed)."""
    counts: list[int] = []
    steps: list[Step] = []
    while len(steps) < max_steps:
        # stopping first: Hypothesis shrinks a program by ending it sooner
        kind = _pick(draw, [("stop", 1), ("create", 3), ("signal", 6), ("pause", 4),
                            ("swap", 2), ("alert", 1), ("gate", 1)])
        if kind == "stop" and steps:
            break
        if kind == "create" or not counts:
            step, events = _create(draw)
            counts.append(events)
            steps.append(step)
        elif kind == "signal":
            steps.extend(_signals(draw, counts))
        elif kind == "pause":
            steps.append(Pause(draw(st.sampled_from(_PAUSES_MS))))
        elif kind == "swap":
            steps.append(_swap(draw))
        elif kind == "alert":
            steps.append(Alert(worker=_worker(draw, counts), user_apc=draw(st.booleans())))
        elif kind == "gate":
            steps.append(act.Gate(closed=draw(st.booleans())))
    if _pick(draw, [(False, 3), (True, 1)]):
        steps.append(act.Unload())
    return Program(steps=tuple(steps), seed=draw(_ints(0, 0xFFFF)))
