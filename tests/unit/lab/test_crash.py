"""Crash detection from the hypervisor and the console, and the capture layout triage reads."""

from __future__ import annotations

import json
from pathlib import Path

from harness.contract import jsonl
from harness.contract.trace import Mark, Probe
from harness.lab import crash

# as libvirt appends QEMU's GUEST_PANICKED (hyper-v info) to the domain log
DOMAIN_LOG = (
    "2026-12-01 10:00:00.000+0000: starting up libvirt version: 9.0.0\n"
    "char device redirected to /dev/pts/3 (label charserial0)\n"
    "2026-12-01 10:02:07.412+0000: panic hyper-v: arg1='0xd1', arg2='0x0', arg3='0x2', "
    "arg4='0x0', arg5='0xfffff80612341010'\n"
)

OOPS = """[   41.201] hsprobe: worker 3 entered
[   41.207] BUG: kernel NULL pointer dereference, address: 0000000000000000
[   41.207] #PF: supervisor read access in kernel mode
[   41.208] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   41.210] Kernel panic - not syncing: Fatal exception
"""


def test_hyperv_panic_line_gives_bugcheck_and_parameters() -> None:
    found = crash.parse_hyperv_panic(DOMAIN_LOG)
    assert found == crash.Bugcheck(code=0xD1, params=(0, 2, 0, 0xFFFFF80612341010))
    assert crash.parse_hyperv_panic("panic hyper-v: arg1='0x1'") is None  # incomplete
    assert crash.parse_hyperv_panic("nothing here") is None


def test_state_crash_tells_pvpanic_from_hyperv() -> None:
    assert crash.state_crash(1, 1, None) is None  # running
    assert crash.state_crash(3, 1, None) is None  # paused by the user
    pv = crash.state_crash(6, 1, None)
    assert pv is not None and pv.detected_by == "pvpanic" and pv.bugcheck is None
    hv = crash.state_crash(3, 10, crash.parse_hyperv_panic(DOMAIN_LOG))
    assert hv is not None and hv.detected_by == "hyperv"
    assert hv.bugcheck is not None and hv.bugcheck.code == 0xD1 and "0xD1" in hv.summary


def test_console_crash_names_the_first_crash_line() -> None:
    found = crash.console_crash(OOPS)
    assert found is not None and found.detected_by == "console"
    assert "BUG: kernel NULL pointer dereference" in found.summary
    assert crash.console_crash("[ 1.0] hsprobe: loaded\nHSGUEST READY\n") is None
    hung = crash.console_crash(
        "[ 240.1] INFO: task hsp-worker:212 blocked for more than 120 seconds.\n"
    )
    assert hung is not None
    win = crash.console_crash("*** STOP: 0x000000D1 (0x0,0x2,0x0,0xFFFFF806)\n")
    assert win is not None


def test_capture_layout(tmp_path: Path) -> None:
    directory = crash.crash_dir(tmp_path, "swap_rollback[pre]", 2)
    assert directory == tmp_path / "crashes" / "swap_rollback_pre-r2"
    info = crash.CrashInfo(
        scenario="swap_rollback[pre]",
        repetition=2,
        machine="hs-standin-0",
        profile="linux",
        detected_by="pvpanic",
        time=crash.now(),
        bugcheck=None,
        guest_build="6.1.0",
        driver={"hsprobe.ko": "ab" * 32},
    )
    records = [Probe(seq=i, t=i, enabled=True, extension_status=0) for i in range(300)]
    records.append(Mark(seq=300, t=300, label="last"))
    crash.write_capture(directory, info, "x" * 100_000 + "\nKernel panic\n", records)
    data = json.loads((directory / "crash.json").read_text())
    assert set(data) == {
        "scenario",
        "repetition",
        "machine",
        "profile",
        "detected_by",
        "time",
        "bugcheck",
        "guest_build",
        "driver",
    }
    assert data["bugcheck"] is None and data["driver"] == {"hsprobe.ko": "ab" * 32}
    console = (directory / "console.log").read_text()
    assert console.endswith("Kernel panic\n") and len(console) == crash.TAIL_BYTES
    with (directory / "trace-tail.jsonl").open("rb") as f:
        header, body = jsonl.read_trace(f)
        tail = list(body)
    assert header.scenario == "swap_rollback[pre]"
    assert len(tail) == crash.TRACE_TAIL and tail[-1] == records[-1]
