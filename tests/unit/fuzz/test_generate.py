"""The program generator covers the space the issue lists, deterministically per seed; the
shrinker finds the small program that still fails the same way."""

from __future__ import annotations

import random
from collections import Counter

from harness import actions as act
from harness.contract import status as st
from harness.contract.startctx import EventKind, Routine, StartContext, WaitMode, WaitType
from harness.fuzz.generate import MAX_STEPS, generate
from harness.fuzz.program import Alert, Create, Pause, Program, Signal, Step
from harness.fuzz.shrink import shrink


def _programs(n: int, seed: int = 0) -> list[Program]:
    return [generate(random.Random(f"{seed}/{i}")) for i in range(n)]


def _features(step: Step) -> set[str]:
    if isinstance(step, Create):
        ctx = step.context
        out = {
            f"events={min(ctx.event_count, 9) if ctx.event_count <= 64 else 65}",
            f"wait_type={ctx.wait_type}",
            f"wait_mode={ctx.wait_mode}",
            f"alertable={ctx.alertable}",
            f"routine={ctx.routine.value}",
            f"endpoint={step.endpoint}",
            f"free={step.free_context}",
            f"gated={step.routine.gated}",
            f"ends={step.routine.ends}",
        }
        out |= {f"kind={k.value}" for k in ctx.events}
        timeout = (
            "absolute"
            if step.deadline_ms is not None
            else "none"
            if ctx.timeout is None
            else "poll"
            if ctx.timeout == 0
            else "relative"
        )
        out.add(f"timeout={timeout}")
        if ctx.event_count == 64:
            out.add("events=64")
        if ctx.alertable and ctx.wait_mode == WaitMode.USER:
            out.add("alertable-user")
        return out
    if isinstance(step, act.Swap):
        return {
            f"swap-to={step.to_version}",
            f"swap-wait={step.wait}",
            f"fail={step.fail_phase}",
            f"mismatch={step.parameter_mismatch}",
        }
    if isinstance(step, Alert):
        return {f"user_apc={step.user_apc}"}
    return {type(step).__name__}


def test_the_generator_covers_the_space() -> None:
    seen: Counter[str] = Counter()
    for program in _programs(3000):
        assert 1 <= len(program.steps) <= MAX_STEPS + 12
        for step in program.steps:
            seen.update(_features(step))
        if isinstance(program.steps[-1], act.Unload):
            seen["ends-with-unload"] += 1
    wanted = (
        [f"events={n}" for n in (0, 1, 2, 3, 9, 64, 65)]
        + [f"kind={k.value}" for k in EventKind]
        + [f"wait_type={t}" for t in (WaitType.ALL, WaitType.ANY, 7)]
        + [f"wait_mode={m}" for m in (WaitMode.KERNEL, WaitMode.USER)]
        + ["alertable-user", "alertable=False"]
        + [f"timeout={t}" for t in ("none", "relative", "absolute", "poll")]
        + [f"routine={r.value}" for r in Routine]
        + ["endpoint=1", "endpoint=2", "free=True", "free=False", "gated=True", "ends=True"]
        + ["swap-to=1", "swap-to=2", "swap-wait=False", "mismatch=True"]
        + [f"fail={p}" for p in ("pre", "stall", "post", None)]
        + ["user_apc=True", "user_apc=False", "Signal", "Pause", "Gate", "ends-with-unload"]
    )
    rare = [w for w in wanted if seen[w] < 5]
    assert not rare, f"the generator (almost) never makes: {rare}"


def test_the_same_seed_gives_the_same_programs() -> None:
    assert _programs(50, seed=3) == _programs(50, seed=3)
    assert _programs(50, seed=3) != _programs(50, seed=4)


def test_signals_name_workers_the_program_made() -> None:
    for program in _programs(500):
        made = 0
        for step in program.steps:
            made += isinstance(step, Create)
            if isinstance(step, Signal | Alert):
                assert 1 <= step.worker <= made + 1


def test_shrinking_keeps_only_what_the_failure_needs() -> None:
    noise: list[Step] = [Pause(1.0), Signal(worker=1, event=2), act.Gate(closed=True)]
    culprit = Create(
        context=StartContext(events=(EventKind.NOTIFICATION,) * 5, alertable=True, timeout=-10_000),
        endpoint=2,
    )
    program = Program(seed=99, steps=(*noise, culprit, *noise, act.Unload()))

    def fails(p: Program) -> bool:  # "a create with an alertable wait breaks the kernel"
        return any(isinstance(s, Create) and s.context.alertable for s in p.steps)

    smallest, runs = shrink(program, fails)
    assert smallest == Program(seed=0, steps=(Create(context=StartContext(alertable=True)),))
    assert runs < 100


def test_shrinking_stops_at_its_run_budget() -> None:
    program = Program(steps=tuple(Signal(worker=1, event=i % 3) for i in range(30)))
    calls = []

    def fails(p: Program) -> bool:
        calls.append(p)
        return len(p.steps) > 3 and st.wait(0) == 0

    smallest, runs = shrink(program, fails, max_runs=7)
    assert runs == len(calls) == 7
    assert fails(smallest)
