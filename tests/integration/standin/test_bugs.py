"""Each named kernel bug of hsproxy (`bugs=`), shown on the real kernel: a short program of
hsprobectl actions that exercises it, and `harness check` on the telemetry names the
invariant that should catch it. The same programs give clean traces on the correct kernel,
so what flags a bug is the bug."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.actions import Alert, Behaviour, CreateWorker, Gate, Mark, Signal, Swap
from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, Routine, StartContext, relative
from harness.driver.commands import hsprobectl_args
from harness.vm.connection import import_libvirt

from .driver import Records, StandinDriver, calls_done, enters, of, pass_time
from .guest import Guest

pytestmark = pytest.mark.integration

Program = Callable[[StandinDriver], Records]


def create(
    driver: StandinDriver,
    context: StartContext | None = None,
    *,
    endpoint: int = 1,
    behaviour: Behaviour | None = None,
) -> int:
    made = driver.do(
        CreateWorker(
            context=context or StartContext(), endpoint=endpoint, behaviour=behaviour or Behaviour()
        )
    )
    assert made.worker is not None, made
    return made.worker


def signal_and_wait(driver: StandinDriver, worker: int, event: int, calls: int) -> Records:
    driver.do(Signal(worker, event))
    return driver.wait_for(calls_done(worker, calls))


def lost_wakeup(driver: StandinDriver) -> Records:
    """Signal one synchronization event of a waiting worker, call after call."""
    worker = create(driver)
    for n in range(1, 3):
        signal_and_wait(driver, worker, 0, n)
    driver.do(Signal(worker, 0))  # the third: dropped by the bug
    return pass_time(driver)


def swap_after_calls(driver: StandinDriver) -> Records:
    """A worker on each endpoint called once, a swap to image 2, each called again."""
    one, two = create(driver), create(driver, endpoint=2)
    signal_and_wait(driver, one, 0, 1)
    signal_and_wait(driver, two, 0, 1)
    driver.do(Swap(to_version=2))
    signal_and_wait(driver, one, 0, 2)
    return signal_and_wait(driver, two, 0, 2)


def swap_with_call_in_flight(driver: StandinDriver) -> Records:
    """A gated call held in flight while a swap starts; a call of another worker arrives
    while the swap waits; then the gate opens."""
    held = create(driver, behaviour=Behaviour(gated=True))
    other = create(driver, endpoint=2)
    driver.do(Gate(closed=True))
    driver.do(Signal(held, 0))
    driver.wait_for(lambda rs: len(enters(rs, held)) == 1)
    driver.do(Swap(to_version=2, wait=False))
    driver.wait_for(lambda rs: bool(of(trace.Swap, rs, phase=trace.SwapPhase.PRE)))
    driver.do(Signal(other, 0))
    driver.do(Mark("signalled during the swap"))
    driver.do(Gate(closed=False))
    return driver.wait_for(
        lambda rs: (
            bool(of(trace.Swap, rs, phase=trace.SwapPhase.DONE))
            and calls_done(other, 1)(rs)
            and calls_done(held, 1)(rs)
        )
    )


def called_once(driver: StandinDriver) -> Records:
    worker = create(driver)
    return signal_and_wait(driver, worker, 0, 1)


def timed_out(driver: StandinDriver) -> Records:
    """A 2 s relative timeout, met once."""
    worker = create(driver, StartContext(timeout=relative(2000)))
    return driver.wait_for(calls_done(worker, 1))


def ends_on_false(driver: StandinDriver) -> Records:
    """The routine returns FALSE (documented: end), then is signalled again."""
    worker = create(driver, behaviour=Behaviour(returns=False))
    signal_and_wait(driver, worker, 0, 1)
    driver.do(Signal(worker, 0))
    driver.do(Mark("signalled after asking to end"))
    return driver.records()


def failed_post(driver: StandinDriver) -> Records:
    worker = create(driver)
    assert not st.is_success(driver.do(Swap(to_version=2, fail_phase="post")).status)
    return signal_and_wait(driver, worker, 0, 1)


def raw_routine(driver: StandinDriver) -> Records:
    driver.do(CreateWorker(context=StartContext(routine=Routine.RAW)))
    driver.do(Mark("after a raw routine"))
    return driver.records()


def timeout_passes(driver: StandinDriver) -> Records:
    """A 300 ms relative timeout, then more than the expected latency of real time."""
    create(driver, StartContext(timeout=relative(300)), behaviour=Behaviour(returns=False))
    return pass_time(driver)


def both_signalled(driver: StandinDriver) -> Records:
    """WaitAny on two events, both signalled while the routine is held at the gate."""
    sync = EventKind.SYNC
    worker = create(driver, StartContext(events=(sync, sync)), behaviour=Behaviour(gated=True))
    driver.do(Gate(closed=True))
    driver.do(Signal(worker, 1))
    driver.wait_for(lambda rs: len(enters(rs, worker)) == 1)
    driver.do(Signal(worker, 1))
    driver.do(Signal(worker, 0))
    driver.do(Gate(closed=False))
    return driver.wait_for(calls_done(worker, 3))


def alerted(driver: StandinDriver) -> Records:
    """An alertable wait, alerted, then more than the expected latency of real time."""
    worker = create(driver, StartContext(alertable=True))
    driver.do(Alert(worker))
    return pass_time(driver)


def plain_swap(driver: StandinDriver) -> Records:
    worker = create(driver)
    driver.do(Swap(to_version=2))
    return signal_and_wait(driver, worker, 0, 1)


# bug -> (program, the invariant that must flag it)
BUGS: dict[str, tuple[Program, str]] = {
    "lost-wakeup": (lost_wakeup, "lost-wakeup"),
    "no-drain": (swap_with_call_in_flight, "swap-stall"),
    "partial-switch": (swap_after_calls, "swap-all-or-none"),
    "old-routine-after-swap": (swap_after_calls, "swap-version"),
    "swap-recreates-thread": (swap_after_calls, "thread-end"),
    "dispatch-level": (called_once, "passive-entry"),
    "early-timeout": (timed_out, "timeout-early"),
    "timeout-never-fires": (timeout_passes, "lost-wakeup"),
    "wrong-wait-index": (both_signalled, "lost-wakeup"),
    "alert-ignored": (alerted, "lost-wakeup"),
    "convention-flipped": (ends_on_false, "thread-end"),
    "return-ignored": (ends_on_false, "thread-end"),
    "no-rollback": (failed_post, "swap-version"),
    "raw-routine-accepted": (raw_routine, "create-status"),
    "phases-out-of-order": (plain_swap, "swap-phases"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_a_named_bug_is_flagged_by_its_invariant(booted: Guest, tmp_path: Path, bug: str) -> None:
    program, invariant = BUGS[bug]
    driver = StandinDriver(booted)
    driver.load(bugs=[bug])
    records = program(driver)
    done = driver.check(tmp_path / f"{bug}.jsonl", records)
    flagged = sorted(
        {
            line.split(":")[0]
            for line in done.stdout.splitlines()
            if not line.startswith(str(tmp_path))
        }
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert invariant in flagged, done.stdout


@pytest.mark.parametrize(
    "program",
    sorted({p for p, _ in BUGS.values()}, key=lambda p: p.__name__),
    ids=lambda p: p.__name__,
)
def test_the_programs_are_clean_on_the_correct_kernel(
    booted: Guest, tmp_path: Path, program: Program
) -> None:
    driver = StandinDriver(booted)
    driver.load()
    done = driver.check(tmp_path / "clean.jsonl", program(driver))
    assert done.returncode == 0, done.stdout + done.stderr


def test_bad_parameters_accepted_is_a_crash_the_hypervisor_sees(booted: Guest) -> None:
    """A create call with 65 events accepted: the worker's wait bug-checks (a panic), which
    pvpanic reports; the trace dies with the guest, so this bug is caught as a crash."""
    libvirt = import_libvirt()
    driver = StandinDriver(booted)
    driver.load(bugs=["bad-parameters-accepted"])
    accepted = CreateWorker(context=StartContext(events=(EventKind.SYNC,) * 65))
    # not waiting for the answer: the guest may panic before it is sent
    booted.ssh.open(["hsprobectl", *hsprobectl_args(accepted)])
    domain = booted.machine._dom()
    deadline = time.monotonic() + 60
    while domain.state()[0] != libvirt.VIR_DOMAIN_CRASHED and time.monotonic() < deadline:
        time.sleep(0.1)  # polling libvirt's view of the domain, bounded by the deadline
    assert domain.state() == [libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED]
    assert "hsproxy: bug check 0x0000000C" in booted.machine.console.text()
    booted.revert("booted")  # the shared guest goes on for the next test
