"""Faults told apart on the real stand-in: a kernel panic is a GuestCrashError seen through
pvpanic, captured (crash.json, console, ELF dump, trace tail) and reverted; a guest that
stops answering is an InfrastructureError with the console tail within the command timeout;
a debugger that stops answering is killed by its watchdog. Plus the debugger agent's path
(its gdbstub engine) breaking in the real routine."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import actions as act
from harness.contract.startctx import EventKind, StartContext
from harness.errors import DebuggerError, GuestCrashError, InfrastructureError
from harness.lab.session import close_sessions
from harness.targets import open_target
from harness.targets.lab import LabTarget
from harness.vm.monitor import hmp

from .conftest import MakeConfig, domains, harness

pytestmark = pytest.mark.integration
SECOND = 10_000_000


@pytest.fixture(scope="module")
def fault_toml(make_config: MakeConfig) -> Iterator[Path]:
    config = make_config("x", timeouts={"command": 8.0}, debugger={"watchdog": 4.0})
    yield config
    close_sessions()
    name = config.read_text().split('name = "')[1].split('"')[0]
    assert domains(f"hs-{name}-") == []


def _open(config: Path, out: Path, scenario: str) -> LabTarget:
    target = open_target(f"lab:{config}")
    assert isinstance(target, LabTarget)
    target.bind(scenario=scenario, repetition=0, out=str(out))
    return target


def test_kernel_panic_is_a_crash_captured_and_reverted(fault_toml: Path, tmp_path: Path) -> None:
    target = _open(fault_toml, tmp_path, "panic[sysrq]")
    assert target.lab.channel is not None
    target.records()
    target.lab.channel.run(
        ("sh", "-c", "(sleep 1; echo c > /proc/sysrq-trigger) >/dev/null 2>&1 &")
    )
    began = time.monotonic()
    with pytest.raises(GuestCrashError, match="panicked") as e:
        target.wait_for(lambda records: False, 60 * SECOND)
    assert time.monotonic() - began < 60
    target.close()
    capture = tmp_path / "crashes" / "panic_sysrq-r0"
    assert str(capture) in str(e.value)
    info = json.loads((capture / "crash.json").read_text())
    assert info["detected_by"] == "pvpanic" and info["profile"] == "linux"
    assert info["scenario"] == "panic[sysrq]" and info["driver"]["hsprobe.ko"]
    assert "Kernel panic" in (capture / "console.log").read_text()
    assert (capture / "memory.elf").read_bytes()[:4] == b"\x7fELF"
    assert (capture / "trace-tail.jsonl").read_text().startswith('{"kind":"header"')
    again = _open(fault_toml, tmp_path, "after")  # the machine was reverted: usable at once
    assert again.probe().enabled
    again.close()


@pytest.mark.parametrize(
    ("kind", "verdict", "detected"),
    [
        ("routine-null", GuestCrashError, "pvpanic"),  # NULL write in the routine: oops, panic
        ("swap-bug", GuestCrashError, "pvpanic"),  # BUG() in the ProxyStalled callback
        ("hang", InfrastructureError, "unresponsive"),  # the routine spins, interrupts off
    ],
)
def test_crash_switch_is_told_apart_and_captured(
    fault_toml: Path, tmp_path: Path, kind: str, verdict: type[Exception], detected: str
) -> None:
    target = _open(fault_toml, tmp_path, f"switch[{kind}]")
    worker = target.do(act.CreateWorker(context=StartContext(events=(EventKind.SYNC,))))
    assert worker.worker is not None
    assert target.lab.channel is not None
    armed = target.lab.channel.run(target.lab.profile.command("crash", kind))
    assert armed.status == 0, armed.stderr
    with pytest.raises(verdict) as e:
        if kind == "swap-bug":
            target.do(act.Swap(to_version=2))
        else:
            target.do(act.Signal(worker.worker, 0))
        target.wait_for(lambda records: False, 60 * SECOND)
    target.close()
    capture = tmp_path / "crashes" / f"switch_{kind}-r0"
    assert str(capture) in str(e.value)
    info = json.loads((capture / "crash.json").read_text())
    assert info["detected_by"] == detected, info
    assert (capture / "memory.elf").is_file() and (capture / "console.log").is_file()
    again = _open(fault_toml, tmp_path, "after")
    assert again.probe().enabled and again.records()[-1].seq < 5  # a fresh ready state
    again.close()


def test_unresponsive_guest_is_infrastructure_within_the_timeout(
    fault_toml: Path, tmp_path: Path
) -> None:
    target = _open(fault_toml, tmp_path, "hang")
    hmp(target.lab.machine._dom(), "stop", target.lab.name)  # vCPUs halted: nothing answers
    began = time.monotonic()
    with pytest.raises(InfrastructureError, match="stopped answering") as e:
        target.records()
    elapsed = time.monotonic() - began
    assert elapsed < 8.0 + 15.0, elapsed  # the command timeout, plus capture and revert
    assert "console tail" in str(e.value)
    info = json.loads((tmp_path / "crashes" / "hang-r0" / "crash.json").read_text())
    assert info["detected_by"] == "unresponsive"
    target.close()
    again = _open(fault_toml, tmp_path, "after")
    assert again.probe().enabled
    again.close()


def test_debugger_that_stops_answering_is_killed(fault_toml: Path, tmp_path: Path) -> None:
    target = _open(fault_toml, tmp_path, "watchdog")
    debugger = target.open_debugger("gdbstub", {})
    pid = target.lab.machine.qemu_pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # QEMU, and with it its gdbstub, stops answering
    try:
        began = time.monotonic()
        with pytest.raises(DebuggerError, match=r"watchdog|did not answer"):
            debugger.irql()
        assert time.monotonic() - began < 4.0 + 12.0
    finally:
        os.kill(pid, signal.SIGCONT)
    target.close()
    again = _open(fault_toml, tmp_path, "after")
    assert again.probe().enabled
    again.close()


def test_agent_gdbstub_engine_breaks_in_both_images(fault_toml: Path, tmp_path: Path) -> None:
    close_sessions()  # the run below leases the pool's one machine in a process of its own
    proc = harness(
        "run",
        "--target",
        f"lab:{fault_toml}",
        "--debugger",
        "pykd",
        "-k",
        "swap_while_idle",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = json.loads((tmp_path / "results.json").read_text())["cases"]
    assert [c["verdict"] for c in cases] == ["pass"]
