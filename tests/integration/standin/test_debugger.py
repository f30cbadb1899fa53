"""The gdbstub debugger on the stand-in: stops in real kernel code and in the real worker
routine of both images, and the Linux introspection (harness.debug.linux) reads the current
task and the IRQL analogue the way the stand-in's telemetry defines it: 0 in a preemptible
task, 2 with preemption disabled, 15 in a hard interrupt. What the debugger sees in the
routine is what the telemetry says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.actions import CreateWorker, Signal, Swap, routine_symbol
from harness.contract import status as st
from harness.contract.startctx import StartContext
from harness.debug import linux

from .driver import StandinDriver, calls_done, enters
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
    busy = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"  # ticks come while busy
    with eyes.stopped_at(at, lambda: eyes.guest.run("sh", "-c", busy)):
        count = linux.preempt_count(eyes.debugger, eyes.debugger, eyes.layout)
        assert count & linux.HARDIRQ_MASK
        assert eyes.level() == 15


def _routine(eyes: Introspected, version: int) -> int:
    """The worker routine of image `version`, from kallsyms, checked against the module's
    sections: it lies in the module's core, after its .text base."""
    symbol = routine_symbol(version)
    address = eyes.symbols(symbol)[symbol]
    module = symbol.split("!")[0]
    text = int(eyes.guest.run("cat", f"/sys/module/{module}/sections/.text").stdout, 16)
    core = int(eyes.guest.run("cat", f"/sys/module/{module}/coresize").stdout)
    assert text <= address < text + core
    return address


def _stop_in_routine(
    eyes: Introspected, driver: StandinDriver, worker: int, version: int
) -> tuple[int, int, int]:
    """Break in image `version`'s routine while the worker is signalled; (pid, task, level)
    as the debugger sees them at the stop."""
    at = _routine(eyes, version)
    with eyes.stopped_at(at, lambda: driver.do(Signal(worker, 0))) as stop:
        assert stop.address == at
        pid, task, comm = eyes.thread()
        level = eyes.level()
    assert comm.startswith("hsworker")
    return pid, task, level


@pytest.mark.parametrize("bugs", [(), ("dispatch-level",)], ids=["correct", "dispatch-level"])
def test_the_debugger_in_the_routine_agrees_with_the_telemetry(
    eyes: Introspected, bugs: tuple[str, ...]
) -> None:
    eyes.guest.revert("booted")  # the debugger stays attached: loadvm keeps QEMU and its stub
    driver = StandinDriver(eyes.guest)
    driver.load(bugs=bugs)
    worker = driver.do(CreateWorker(context=StartContext())).worker
    assert worker is not None
    seen = [_stop_in_routine(eyes, driver, worker, 1)]
    assert driver.do(Swap(to_version=2)).status == st.SUCCESS
    seen.append(_stop_in_routine(eyes, driver, worker, 2))
    records = driver.wait_for(calls_done(worker, 2))
    told = [(c.thread, c.thread_object, c.irql) for c in enters(records, worker)]
    assert [c.version for c in enters(records, worker)] == [1, 2]
    assert seen == told
    assert {level for _, _, level in seen} == {2 if bugs else 0}
