"""The gdbstub debugger on the stand-in: stops in real kernel code, and the Linux
introspection (harness.debug.linux) reads the current task and the IRQL analogue the way
the stand-in's telemetry defines it: 0 in a preemptible task, 2 with preemption disabled,
15 in a hard interrupt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.debug import linux

from .guest import Guest, Introspected

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def eyes(standin: Guest) -> Iterator[Introspected]:
    standin.revert("booted")
    seen = Introspected(standin)
    try:
        yield seen
    finally:
        seen.detach()


def test_a_task_in_a_system_call_is_preemptible_and_named(eyes: Introspected) -> None:
    at = eyes.symbols("do_nanosleep")["do_nanosleep"]
    pids: list[int] = []

    def sleep() -> None:  # exec keeps the pid the shell printed
        out = eyes.guest.run("sh", "-c", "echo $$; exec sleep 0.2").stdout
        pids.append(int(out.split()[0]))

    with eyes.stopped_at(at, sleep) as stop:
        assert stop.address == at
        pid, task, comm = eyes.thread()
        level = eyes.level()
    assert (comm, level) == ("sleep", 0)
    assert pids == [pid]
    assert task >> 47 == 0x1FFFF


def test_the_scheduler_runs_with_preemption_disabled(eyes: Introspected) -> None:
    at = eyes.symbols("__schedule")["__schedule"]
    with eyes.stopped_at(at, lambda: eyes.guest.run("true")):
        assert eyes.level() == 2


def test_a_timer_interrupt_runs_with_interrupts_off(eyes: Introspected) -> None:
    at = eyes.symbols("tick_sched_timer")["tick_sched_timer"]
    busy = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"  # ticks come while busy
    with eyes.stopped_at(at, lambda: eyes.guest.run("sh", "-c", busy)):
        count = linux.preempt_count(eyes.debugger, eyes.debugger, eyes.layout)
        assert count & linux.HARDIRQ_MASK
        assert eyes.level() == 15
