"""hsproxy and hsprobe on the stand-in's real kernel, driven through every action with the
command lines of harness.driver.commands; the telemetry, decoded by
harness.driver.telemetry, passes `harness check` on the correct kernel."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.actions import Alert, Behaviour, CreateWorker, Gate, Signal, Swap, Unload
from harness.contract import status as st
from harness.contract import trace
from harness.contract.jsonl import read_trace
from harness.contract.startctx import EventKind, StartContext, WaitType, relative
from harness.driver.commands import trace_args
from harness.scenarios.test_feature import INVALID  # the suite's invalid start contexts

from .driver import Records, StandinDriver, calls_done, enters, of
from .guest import Guest

pytestmark = pytest.mark.integration

S, N = EventKind.SYNC, EventKind.NOTIFICATION
ENDS = Behaviour(returns=False)  # documented convention: FALSE ends the thread


@pytest.fixture
def driver(booted: Guest) -> StandinDriver:
    loaded = StandinDriver(booted)
    loaded.load()
    return loaded


def assert_clean(driver: StandinDriver, out: Path, records: Records | None = None) -> None:
    done = driver.check(out, records)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no violations; convention documented" in done.stdout


def exited(worker: int) -> object:
    return lambda records: bool(of(trace.ThreadExit, records, worker=worker))


# valid contexts: (context, endpoint, keep the context, how to make the first call happen)
VALID = {
    "wait-any-sync": (StartContext(events=(S, S)), 1, False, "signal 1"),
    "wait-all-mixed": (StartContext(events=(S, N), wait_type=WaitType.ALL), 1, False, "signal 0 1"),
    "notification": (StartContext(events=(N,)), 1, False, "signal 0"),
    "64-events": (StartContext(events=(S,) * 64), 1, False, "signal 63"),
    "user-mode-alertable": (StartContext(wait_mode=1, alertable=True), 1, False, "apc"),
    "alertable": (StartContext(alertable=True), 1, False, "alert"),
    "relative-timeout": (StartContext(timeout=relative(300)), 1, False, "time"),
    "zero-timeout": (StartContext(timeout=0), 1, False, "time"),
    "keep-context": (StartContext(), 1, True, "signal 0"),
    "endpoint-2": (StartContext(), 2, False, "signal 0"),
}
FIRST_STATUS = {
    "wait-any-sync": st.wait(1),
    "wait-all-mixed": st.SUCCESS,
    "notification": st.wait(0),
    "64-events": st.wait(63),
    "user-mode-alertable": st.USER_APC,
    "alertable": st.ALERTED,
    "relative-timeout": st.TIMEOUT,
    "zero-timeout": st.TIMEOUT,
    "keep-context": st.wait(0),
    "endpoint-2": st.wait(0),
}


def _first_call(driver: StandinDriver, worker: int, how: str) -> None:
    if how.startswith("signal"):
        for event in how.split()[1:]:
            driver.do(Signal(worker, int(event)))
    elif how in ("alert", "apc"):
        driver.do(Alert(worker, user_apc=how == "apc"))


def test_create_with_each_context_variant(driver: StandinDriver, tmp_path: Path) -> None:
    workers = {}
    for name, (context, endpoint, keep, how) in VALID.items():
        made = driver.do(
            CreateWorker(context=context, endpoint=endpoint, free_context=not keep, behaviour=ENDS)
        )
        assert made.status == st.SUCCESS and made.worker is not None, (name, made)
        workers[name] = made.worker
        _first_call(driver, made.worker, how)
    # an absolute timeout: 300 ms after the guest's clock as the last record read it
    now = driver.records()[-1].t
    made = driver.do(CreateWorker(context=StartContext(timeout=now + 3_000_000), behaviour=ENDS))
    assert made.worker is not None
    workers["absolute-timeout"] = made.worker
    for name, context in INVALID.items():
        refused = driver.do(CreateWorker(context=context))
        assert (refused.status, refused.worker) == (st.INVALID_PARAMETER, None), name
    records = driver.wait_for(lambda rs: all(exited(w)(rs) for w in workers.values()))
    for name, worker in workers.items():
        calls = enters(records, worker)
        assert len(calls) == 1, (name, calls)
        expected = FIRST_STATUS.get(name, st.TIMEOUT)
        assert st.name(calls[0].wait_status) == st.name(expected), name
        assert calls[0].irql == 0 and calls[0].version == 1
    assert len(of(trace.Create, records)) == len(VALID) + 1 + len(INVALID)
    assert_clean(driver, tmp_path / "create.jsonl", records)


def test_signal_alert_gate_and_swaps_to_hsprobe2_and_back(
    driver: StandinDriver, tmp_path: Path
) -> None:
    one = driver.do(CreateWorker(context=StartContext(events=(S, S)))).worker
    two = driver.do(CreateWorker(context=StartContext(alertable=True), endpoint=2)).worker
    assert one is not None and two is not None
    driver.do(Signal(one, 0))
    driver.do(Alert(two))
    driver.wait_for(lambda rs: calls_done(one, 1)(rs) and calls_done(two, 1)(rs))

    assert driver.do(Swap(to_version=2)).status == st.SUCCESS
    assert "hsprobe2" in driver.guest.run("lsmod").stdout.decode()
    driver.do(Signal(one, 1))
    driver.do(Alert(two))
    records = driver.wait_for(lambda rs: calls_done(one, 2)(rs) and calls_done(two, 2)(rs))
    assert [c.version for c in enters(records, one)] == [1, 2]
    assert [c.wait_status for c in enters(records, two)] == [st.ALERTED, st.ALERTED]

    for phase in ("pre", "stall", "post"):  # a failing callback rolls the swap back
        assert not st.is_success(driver.do(Swap(to_version=1, fail_phase=phase)).status)
    assert driver.do(Swap(to_version=1, parameter_mismatch=True)).status == st.INVALID_PARAMETER_3
    driver.do(Signal(one, 0))
    records = driver.wait_for(calls_done(one, 3))
    assert enters(records, one)[-1].version == 2
    assert of(trace.Swap, records, phase=trace.SwapPhase.ROLLBACK)

    assert driver.do(Swap(to_version=1)).status == st.SUCCESS
    gated = driver.do(CreateWorker(context=StartContext(), behaviour=Behaviour(gated=True))).worker
    assert gated is not None
    driver.do(Gate(closed=True))
    driver.do(Signal(gated, 0))
    driver.wait_for(lambda rs: len(enters(rs, gated)) == 1)
    before = len(of(trace.Swap, driver.records()))
    assert driver.do(Swap(to_version=2, wait=False)).status == st.PENDING
    # PreProcess ran: the swap now drains, waiting for the held call
    driver.wait_for(lambda rs: len(of(trace.Swap, rs)) >= before + 2)
    driver.do(Gate(closed=False))  # the held call returns; the drain ends; the swap goes on
    records = driver.wait_for(lambda rs: of(trace.Swap, rs)[-1].phase == trace.SwapPhase.DONE)
    swap = of(trace.Swap, records)[-1].swap
    assert [r.phase for r in of(trace.Swap, records, swap=swap)] == [
        "request",
        "pre",
        "stall",
        "post",
        "done",
    ]
    assert of(trace.Swap, records)[-1].status == st.SUCCESS
    driver.do(Signal(gated, 0))
    records = driver.wait_for(calls_done(gated, 2))
    assert [c.version for c in enters(records, gated)] == [1, 2]
    assert len({(c.thread, c.thread_object) for c in enters(records, one)}) == 1
    assert_clean(driver, tmp_path / "swaps.jsonl", records)


def test_unload_with_live_workers(driver: StandinDriver, tmp_path: Path) -> None:
    workers = [driver.do(CreateWorker(context=StartContext(), endpoint=e)).worker for e in (1, 2)]
    assert driver.do(Swap(to_version=2)).status == st.SUCCESS
    assert driver.do(Unload()).status == st.SUCCESS
    lsmod = driver.guest.run("lsmod").stdout.decode()
    assert "hsprobe" not in lsmod and "hsproxy" in lsmod
    records = driver.records()  # after unload: the dump the driver left behind
    unloads = of(trace.Unload, records)
    assert [(u.version, u.live_workers) for u in unloads] == [(2, 2), (1, 2)]
    for worker in workers:
        assert of(trace.ThreadExit, records, worker=worker)
    assert_clean(driver, tmp_path / "unload.jsonl", records)


def test_the_tools_converter_and_the_harness_decoder_agree(driver: StandinDriver) -> None:
    worker = driver.do(CreateWorker(context=StartContext())).worker
    assert worker is not None
    driver.do(Signal(worker, 0))
    decoded = driver.wait_for(calls_done(worker, 1))
    printed = driver.tool(*trace_args(0)).stdout
    header, records = read_trace(io.BytesIO(printed))
    assert header.source == "hsprobe"
    assert tuple(records)[: len(decoded)] == decoded
