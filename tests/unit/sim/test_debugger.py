"""The sim debugger stops the simulated machine in a routine and reads the CPU's view."""

from __future__ import annotations

import pytest

from harness import actions as act
from harness.contract.startctx import StartContext
from harness.debug import open_debugger
from harness.errors import ConfigError, DebuggerError, HarnessTimeoutError
from harness.targets import open_target


def test_break_reads_irql_and_thread_of_the_worker() -> None:
    t = open_target("sim")
    out = t.do(act.CreateWorker(context=StartContext()))
    dbg = open_debugger("sim", target=t)
    bp = dbg.break_at("hsprobe!HspWorkerRoutine")
    t.do(act.Signal(out.worker or 0, 0))
    stop = dbg.wait_break(timeout=1)
    assert stop.breakpoint == bp and stop.symbol == "hsprobe!HspWorkerRoutine"
    create = next(r for r in t.records() if r.__class__.__name__ == "Create")
    assert dbg.irql() == 0
    assert dbg.current_thread().id == create.thread  # type: ignore[attr-defined]
    assert not [r for r in t.records() if r.__class__.__name__ == "Enter"], (
        "a breakpoint at the routine's first instruction stops before the driver records"
    )
    dbg.resume()
    t.run(10_000)
    assert [r for r in t.records() if r.__class__.__name__ == "Enter"]


def test_dispatch_level_mutant_is_visible_to_the_debugger() -> None:
    t = open_target("sim:mutant=dispatch-level")
    out = t.do(act.CreateWorker(context=StartContext()))
    dbg = open_debugger("sim", target=t)
    dbg.break_at("hsprobe!HspWorkerRoutine")
    t.do(act.Signal(out.worker or 0, 0))
    dbg.wait_break(timeout=1)
    assert dbg.irql() == 2


def test_no_break_times_out_and_unknown_symbols_fail() -> None:
    t = open_target("sim")
    dbg = open_debugger("sim", target=t)
    dbg.break_at("hsprobe2!HspWorkerRoutine")
    with pytest.raises(HarnessTimeoutError):
        dbg.wait_break(timeout=0.01)
    with pytest.raises(DebuggerError, match="cannot resolve"):
        dbg.break_at("nt!KeBugCheckEx")
    with pytest.raises(DebuggerError, match="running"):
        dbg.irql()
    with pytest.raises(ConfigError):
        open_debugger("sim", target=None)


def test_memory_written_is_read_back_and_unmapped_memory_fails() -> None:
    t = open_target("sim")
    dbg = open_debugger("sim", target=t)
    dbg.write(0xFFFF_8000_0000_1000, b"\x01\x02\x03")
    assert dbg.read(0xFFFF_8000_0000_1000, 3) == b"\x01\x02\x03"
    with pytest.raises(DebuggerError, match="0xFFFF800000001003"):
        dbg.read(0xFFFF_8000_0000_1000, 4)
