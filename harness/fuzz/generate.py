"""Random scenario programs from a seed.

`generate(rng)` draws a whole program as data. It covers the space the contract spans: 1 to
64 events of both kinds, WaitAny and WaitAll, every kind of timeout (none, relative,
absolute, poll), alertable waits in both modes, invalid start contexts; signals, alerts and
user APCs at any moment, including while the routine runs (busy or held at the gate);
swaps from either image to either image, waiting or not, with calls in flight through
either endpoint, failing callbacks in any phase, parameter mismatches; unloads. Choices are
weighted towards what exercises the most (few events, valid contexts, signals that land
while the worker waits), and every weight is honoured exactly, so a rare branch (a raw
routine, a mismatch) comes up at the rate its weight says.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

import msgspec

from harness import actions as act
from harness.contract import status as st
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

__all__ = ["MAX_STEPS", "generate"]

T = TypeVar("T")

MAX_STEPS = 40

_PAUSES_MS = (0.01, 0.05, 0.2, 1.0, 5.0, 20.0)
_STORM_PAUSES_MS = (0.2, 0.05, 1.0)
_HOLD_MS = (0.2, 1.0, 5.0, 20.0, 50.0)  # how long a call is held in flight during a swap
_RELATIVE_MS = (1.0, 2.0, 0.1, 5.0, 0.5, 10.0, 30.0)
_DEADLINES_MS = (5.0, 1.0, 20.0, 0.0, -5.0)
_BUSY_US = (0, 10, 100, 1000)


def _pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    """One of the values, with the given weights."""
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _event_kinds(rng: random.Random) -> tuple[EventKind, ...]:
    # the kernel's limit, 64, on its own: boundaries are where kernels break
    low, high = _pick(rng, [((1, 3), 12), ((4, 8), 3), ((9, 63), 1), ((64, 64), 1)])
    n = rng.randint(low, high)
    # mostly synchronization events only, as most drivers use; sometimes a mix
    if _pick(rng, [(False, 2), (True, 1)]):
        return tuple(rng.choice((EventKind.SYNC, EventKind.NOTIFICATION)) for _ in range(n))
    return (EventKind.SYNC,) * n


def _timeout(rng: random.Random) -> tuple[int | None, float | None]:
    """(context timeout, absolute deadline in ms from now)."""
    kind = _pick(rng, [("none", 5), ("relative", 4), ("absolute", 1), ("poll", 1)])
    if kind == "relative":
        return relative(rng.choice(_RELATIVE_MS)), None
    if kind == "absolute":
        return None, rng.choice(_DEADLINES_MS)
    return (0 if kind == "poll" else None), None


def _invalidate(rng: random.Random, ctx: StartContext) -> StartContext:
    """`ctx` with one thing wrong that the create call must refuse."""
    fault = rng.choice(
        (
            "null_routine",
            "raw_routine",
            "no_events",
            "too_many_events",
            "wait_type",
            "wait_mode",
            "wait_reason",
        )
    )
    if fault in ("null_routine", "raw_routine"):
        routine = RoutineKind.NULL if fault == "null_routine" else RoutineKind.RAW
        return msgspec.structs.replace(ctx, routine=routine)
    if fault in ("no_events", "too_many_events"):
        count = 0 if fault == "no_events" else rng.randint(65, 70)
        return msgspec.structs.replace(ctx, events=(EventKind.SYNC,) * count)
    low, high = {"wait_type": (2, 9), "wait_mode": (2, 9), "wait_reason": (44, 99)}[fault]
    return msgspec.structs.replace(ctx, **{fault: rng.randint(low, high)})


def _statuses(ctx: StartContext) -> list[int]:
    """WaitStatus values a routine may be handed (those it can flip its answer on)."""
    if ctx.wait_type == WaitType.ALL:
        out = [st.SUCCESS]
    else:
        out = [st.wait(i) for i in range(min(ctx.event_count, 4))]
    return [*out, st.TIMEOUT, st.ALERTED, st.USER_APC]


def _routine(rng: random.Random, ctx: StartContext, deadline: float | None) -> Routine:
    ends = _pick(rng, [(False, 9), (True, 1)])
    flip = rng.sample(_statuses(ctx), rng.randint(0, 2))
    # a poll, or an absolute timeout already past, returns at once every time: a routine
    # that never ends on it spins, so mostly let it end
    spins = ctx.timeout == 0 or (deadline is not None and deadline <= 0)
    if spins and not ends and st.TIMEOUT not in flip and _pick(rng, [(True, 4), (False, 1)]):
        flip.append(st.TIMEOUT)
    return Routine(
        ends=ends,
        flip_on=tuple(flip),
        busy_us=rng.choice(_BUSY_US),
        gated=_pick(rng, [(False, 3), (True, 1)]),
    )


def _create(rng: random.Random) -> tuple[Create, int]:
    """A create step and the event count it names."""
    kinds = _event_kinds(rng)
    timeout, deadline = _timeout(rng)
    ctx = StartContext(
        events=kinds,
        wait_type=_pick(rng, [(WaitType.ANY, 3), (WaitType.ALL, 1)]),
        wait_mode=_pick(rng, [(WaitMode.KERNEL, 2), (WaitMode.USER, 1)]),
        wait_reason=_pick(rng, [(WaitReason.EXECUTIVE, 2), (WaitReason.USER_REQUEST, 1)]),
        alertable=rng.random() < 0.5,
        timeout=timeout,
    )
    if _pick(rng, [(False, 7), (True, 1)]):
        ctx = _invalidate(rng, ctx)
    step = Create(
        context=ctx,
        routine=_routine(rng, ctx, deadline),
        endpoint=rng.randint(1, 2),
        free_context=rng.random() < 0.5,
        deadline_ms=deadline,
    )
    return step, len(kinds)


def _worker(rng: random.Random, counts: list[int]) -> int:
    """A create ordinal: mostly one made already (the newest most often, so that steps
    pile up on one worker), sometimes one that never was."""
    if not counts or _pick(rng, [(False, 30), (True, 1)]):
        return len(counts) + 1
    if rng.random() < 0.5:
        return len(counts)
    return rng.randint(1, len(counts))


def _events_of(counts: list[int], worker: int) -> int:
    return counts[worker - 1] if worker <= len(counts) else 1


def _signals(rng: random.Random, counts: list[int]) -> list[Step]:
    """One to three signals to one worker at the same instant, sometimes to an event it
    does not have, mostly followed by a pause (so that the next step finds it waiting)."""
    w = _worker(rng, counts)
    events = _events_of(counts, w)
    out: list[Step] = []
    for _ in range(rng.randint(1, 3)):
        invalid = _pick(rng, [(False, 30), (True, 1)])
        out.append(Signal(worker=w, event=events if invalid else rng.randrange(events)))
    if _pick(rng, [(True, 2), (False, 1)]):
        out.append(Pause(rng.choice(_STORM_PAUSES_MS)))
    return out


def _storm(rng: random.Random, counts: list[int]) -> list[Step]:
    """Two to six signals to one worker, each followed by a short pause: signals that land
    while it waits, while it runs, and while it goes back to waiting."""
    w = _worker(rng, counts)
    events = _events_of(counts, w)
    out: list[Step] = []
    for _ in range(rng.randint(2, 6)):
        out += [Signal(worker=w, event=rng.randrange(events)), Pause(rng.choice(_STORM_PAUSES_MS))]
    return out


def _swap_in_flight(rng: random.Random, counts: list[int]) -> list[Step]:
    """A swap requested while a call is in flight: close the gate, wake one worker (a gated
    routine blocks on the gate, a busy one runs on), swap, and open the gate after a while
    that may outlast the drain timeout, or not at all."""
    w = _worker(rng, counts)
    steps: list[Step] = [
        act.Gate(closed=True),
        Signal(worker=w, event=rng.randrange(_events_of(counts, w))),
        Pause(rng.choice(_STORM_PAUSES_MS)),
        _swap(rng),
    ]
    if rng.random() < 0.75:
        steps += [Pause(rng.choice(_HOLD_MS)), act.Gate(closed=False)]
    return steps


def _swap(rng: random.Random) -> act.Swap:
    return act.Swap(
        to_version=rng.randint(1, 2),
        wait=_pick(rng, [(True, 3), (False, 2)]),
        fail_phase=_pick(rng, [(None, 6), ("pre", 1), ("stall", 1), ("post", 1)]),
        parameter_mismatch=_pick(rng, [(False, 9), (True, 1)]),
    )


def generate(rng: random.Random, max_steps: int = MAX_STEPS) -> Program:
    """A random program of 1 to about `max_steps` steps, and a simulator seed."""
    counts: list[int] = []
    steps: list[Step] = []
    while len(steps) < max_steps:
        kind = _pick(
            rng,
            [
                ("stop", 1),
                ("create", 3),
                ("signal", 6),
                ("pause", 4),
                ("swap", 2),
                ("alert", 1),
                ("gate", 1),
                ("storm", 1),
                ("swap_in_flight", 1),
            ],
        )
        if kind == "stop" and steps:
            break
        if kind == "create" or not counts:
            step, events = _create(rng)
            counts.append(max(events, 1))
            steps.append(step)
        elif kind == "signal":
            steps += _signals(rng, counts)
        elif kind == "storm":
            steps += _storm(rng, counts)
        elif kind == "pause":
            steps.append(Pause(rng.choice(_PAUSES_MS)))
        elif kind == "swap":
            steps.append(_swap(rng))
        elif kind == "swap_in_flight":
            steps += _swap_in_flight(rng, counts)
        elif kind == "alert":
            steps.append(Alert(worker=_worker(rng, counts), user_apc=rng.random() < 0.5))
        elif kind == "gate":
            steps.append(act.Gate(closed=rng.random() < 0.5))
    if _pick(rng, [(False, 4), (True, 1)]):
        steps.append(act.Unload())
    return Program(steps=tuple(steps), seed=rng.randrange(0x10000))
