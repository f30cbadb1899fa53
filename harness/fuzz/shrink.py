"""Shrinking a failing program to a minimal one that fails the same way.

Greedy and deterministic: delete runs of steps, largest first (as delta debugging does),
then replace each remaining step by a simpler one (fewer events, no timeout, the first
worker, a plain routine, a swap that waits and succeeds), then the simulator seed by 0;
again until nothing changes or the run budget is spent. A candidate counts only if it fails
*the same way*: a crash for a crash, else a violation of the first invariant the original
broke, so shrinking never slides to another bug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import msgspec

from harness import actions as act
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitReason, WaitType
from harness.contract.startctx import Routine as RoutineKind
from harness.fuzz.program import Alert, Create, Program, Routine, Signal, Step

__all__ = ["shrink"]

replace = msgspec.structs.replace


def _simpler_contexts(ctx: StartContext) -> Iterator[StartContext]:
    n = ctx.event_count
    if 1 < n <= 64:
        yield replace(ctx, events=ctx.events[:1])
        yield replace(ctx, events=ctx.events[: n // 2])
    if any(k is not EventKind.SYNC for k in ctx.events):
        yield replace(ctx, events=(EventKind.SYNC,) * n)
    defaults = {
        "timeout": None,
        "alertable": False,
        "wait_mode": WaitMode.KERNEL,
        "wait_reason": WaitReason.EXECUTIVE,
        "wait_type": WaitType.ANY,
        "routine": RoutineKind.WRAPPER,
    }
    for field, plain in defaults.items():
        if getattr(ctx, field) != plain:
            yield replace(ctx, **{field: plain})


def _simpler_routines(r: Routine) -> Iterator[Routine]:
    if r != Routine():
        yield Routine()
    for field, plain in (("flip_on", ()), ("busy_us", 0), ("gated", False), ("ends", False)):
        if getattr(r, field) != plain:
            yield replace(r, **{field: plain})


def _simpler(step: Step) -> Iterator[Step]:
    """Steps that do less than `step`, the simplest first."""
    if isinstance(step, Create):
        for ctx in _simpler_contexts(step.context):
            yield replace(step, context=ctx)
        for routine in _simpler_routines(step.routine):
            yield replace(step, routine=routine)
        for field, plain in (("deadline_ms", None), ("endpoint", 1), ("free_context", True)):
            if getattr(step, field) != plain:
                yield replace(step, **{field: plain})
    elif isinstance(step, Signal | Alert):
        if step.worker != 1:
            yield replace(step, worker=1)
        if isinstance(step, Signal) and step.event != 0:
            yield replace(step, event=0)
        if isinstance(step, Alert) and step.user_apc:
            yield replace(step, user_apc=False)
    elif isinstance(step, act.Swap):
        for field, plain in (("fail_phase", None), ("parameter_mismatch", False), ("wait", True)):
            if getattr(step, field) != plain:
                yield replace(step, **{field: plain})


def _with(program: Program, steps: tuple[Step, ...]) -> Program:
    return replace(program, steps=steps)


def shrink(
    program: Program, fails: Callable[[Program], bool], *, max_runs: int = 1000
) -> tuple[Program, int]:
    """The smallest program found that `fails` like `program` does; and the runs it took."""
    runs = 0

    def still_fails(candidate: Program) -> bool:
        nonlocal runs
        if runs >= max_runs:
            return False
        runs += 1
        return fails(candidate)

    current, changed = program, True
    while changed and runs < max_runs:
        changed = False
        size = max(len(current.steps) // 2, 1)
        while size >= 1:  # delete runs of `size` steps, wherever that keeps the failure
            i = 0
            while i < len(current.steps) and len(current.steps) > 1:
                steps = current.steps[:i] + current.steps[i + size :]
                if steps and still_fails(_with(current, steps)):
                    current, changed = _with(current, steps), True
                else:
                    i += size
            size //= 2
        for i in range(len(current.steps)):
            for simpler in _simpler(current.steps[i]):
                steps = (*current.steps[:i], simpler, *current.steps[i + 1 :])
                if still_fails(_with(current, steps)):
                    current, changed = _with(current, steps), True
                    break
        if current.seed and still_fails(replace(current, seed=0)):
            current, changed = replace(current, seed=0), True
    return current, runs
