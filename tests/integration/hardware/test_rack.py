"""The hardware path end to end on an emulated rack machine: leased, powered on through its
BMC (sushy-tools' Redfish, virtualbmc's IPMI), ready on its TCP console, scenarios with the
reboot reset policy, a crash seen on the console and reset, a BMC that stops answering."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness import actions as act
from harness.contract.startctx import EventKind, StartContext
from harness.errors import GuestCrashError, InfrastructureError
from harness.hardware.emulated import EmulatedRack
from harness.hardware.inventory import load_inventory
from harness.hardware.pool import HardwarePool
from harness.targets import open_target
from harness.targets.lab import LabTarget

from ..lab.conftest import harness
from .conftest import MakeLab

pytestmark = pytest.mark.integration

SECOND = 10_000_000
MARKER = "HSGUEST READY"


def _open(config: Path, out: Path, scenario: str) -> LabTarget:
    target = open_target(f"lab:{config}")
    assert isinstance(target, LabTarget)
    target.bind(scenario=scenario, repetition=0, out=str(out))
    return target


def _boots(rack: EmulatedRack) -> int:
    """Ready markers on the machine's console log, all leases included."""
    path = rack.dir / "state" / "hardware" / "machines" / rack.name / "console.log"
    return path.read_text(errors="replace").count(MARKER) if path.exists() else 0


def test_the_suite_runs_on_the_rack_machine_through_redfish_with_reboot_reset(
    rack: EmulatedRack, make_lab: MakeLab, tmp_path: Path
) -> None:
    lab = make_lab("redfish", every=1)
    before = _boots(rack)
    out = tmp_path / "run"
    picked = "swap_while_idle or terminate_on_request or wait_status_per_event"
    done = harness("run", "--target", f"lab:{lab}", "-k", picked, "--out", str(out), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    cases = json.loads((out / "cases.json").read_text())
    verdicts = [c["verdict"] for c in cases]
    assert len(cases) == 3 and "pass" in verdicts, cases
    assert set(verdicts) <= {"pass", "not_applicable"}, cases
    assert {c["environment"]["machine"] for c in cases} == {rack.name}
    # a fresh boot per scenario (every = 1): one to prepare (the up-front check uses it
    # read-only), then a reboot before each next
    assert _boots(rack) - before == 3
    _assert_nowhere(
        rack.password_file.read_text().strip(),
        done.stdout + done.stderr,
        out,
        rack.dir / "state",
        rack.dir / "sushy.log",
        rack.dir / "vbmc.log",
    )


def _assert_nowhere(secret: str, text: str, *paths: Path) -> None:
    """The BMC password in no output, log, report or record the run left."""
    assert secret not in text
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*"))]
    leaked = [str(f) for f in files if f.is_file() and secret.encode() in f.read_bytes()]
    assert not leaked and len(files) > 5, leaked


def _crash(target: LabTarget) -> None:
    worker = target.do(act.CreateWorker(context=StartContext(events=(EventKind.SYNC,))))
    assert worker.worker is not None and target.lab.channel is not None
    armed = target.lab.channel.run(target.lab.profile.command("crash", "routine-null"))
    assert armed.status == 0, armed.stderr
    target.do(act.Signal(worker.worker, 0))
    target.wait_for(lambda records: False, 60 * SECOND)


def _started(rack: EmulatedRack) -> str:
    """libvirt's id of the running domain: a new one each time QEMU starts (a power cycle
    through the BMC), the same across a reboot of the guest itself (panic=-1)."""
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", "domid", rack.domain],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("kind", ["redfish", "ipmi"])
def test_a_crash_is_seen_on_the_console_captured_and_the_machine_reset(
    rack: EmulatedRack, make_lab: MakeLab, tmp_path: Path, kind: str
) -> None:
    lab = make_lab(kind, every=2)  # two scenarios on one boot, the second crashes
    first = _open(lab, tmp_path, "first")
    power_on = _started(rack)
    first.close()
    target = _open(lab, tmp_path, "crash[null]")
    assert _started(rack) == power_on  # the second scenario of the group: same boot
    assert target.records()[-1].seq < 5  # ... with the driver reloaded
    with pytest.raises(GuestCrashError, match="console shows a crash") as e:
        _crash(target)
    target.close()
    capture = tmp_path / "crashes" / "crash_null-r0"
    assert str(capture) in str(e.value)
    info = json.loads((capture / "crash.json").read_text())
    assert info["detected_by"] == "console" and info["machine"] == rack.name
    assert "BUG: kernel NULL pointer dereference" in (capture / "console.log").read_text()
    assert "no dump_path" in (capture / "dump-error.txt").read_text()
    reset = _started(rack)
    assert reset != power_on  # power-cycled through the BMC at once, not left to the next
    again = _open(lab, tmp_path, "after")
    assert again.probe().enabled and again.records()[-1].seq < 5  # a fresh driver
    again.close()
    assert _started(rack) == reset  # the crash's reset was this scenario's fresh boot


@contextmanager
def _stopped(pid: int) -> Iterator[None]:
    """The emulator process frozen: its socket still accepts, nothing answers."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


@pytest.mark.parametrize(("kind", "index"), [("redfish", 0), ("ipmi", 1)])
def test_a_bmc_that_stops_answering_is_infrastructure_within_the_timeout_and_retires_the_machine(
    rack: EmulatedRack, make_lab: MakeLab, kind: str, index: int
) -> None:
    lab = make_lab(kind, timeout="2.0", retries="1")
    config = load_inventory(lab.parent / f"inventory-{kind}.toml")
    with HardwarePool(config) as pool, _stopped(rack.pids[index]):
        machine = pool.lease(timeout=10)
        began = time.monotonic()
        with pytest.raises(InfrastructureError, match=f"{rack.name}: the BMC at .* failed"):
            machine.boot()
        elapsed = time.monotonic() - began
        assert elapsed < 2 * 2.0 + 0.5 + 3.0, elapsed  # two tries of 2 s, one pause, slack
        with pytest.raises(InfrastructureError, match="every machine is out of the pool"):
            pool.lease(timeout=10)
