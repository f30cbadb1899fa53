"""Real crashes through the real pool: the test guest's kernel crashed by hscrash.ko (a NULL
dereference twice, a BUG once), each captured with harness.triage.capture from a leased
libvirt machine (console tail + QEMU ELF dump), then `harness triage` on the run directory:
the two NULL dereferences are one bucket, the BUG another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.triage.analysis import analyse_path
from harness.triage.elfcore import read_elf
from harness.vm.config import parse_pool_config
from tests.integration.triage.crashguest import build, crash_once
from tests.integration.vm.conftest import unique_name

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    subprocess.run(
        [str(REPO / "scripts/setup-host"), "--services"],
        check=True,
        capture_output=True,
        env={**os.environ, "VENV": sys.prefix},
    )
    images = build("null", "bug")
    out = tmp_path_factory.mktemp("run")
    for case, mode, rep in (
        ("swap_while_busy", "null", 0),
        ("swap_while_busy", "null", 1),
        ("swap_phases", "bug", 0),
    ):
        config = parse_pool_config(
            {
                "image": str(images / mode),
                "name": unique_name("tr"),
                "boot_timeout": 600.0,
                "accel": "tcg",
            },
            "test",
        )
        crash_once(config, out / "crashes" / f"{case}-r{rep}", case)
    return out


def test_capture_writes_the_crash_directory(run_dir: Path) -> None:
    crash = run_dir / "crashes" / "swap_while_busy-r0"
    assert {p.name for p in crash.iterdir()} >= {"crash.json", "console.log", "memory.elf"}
    core = read_elf(crash / "memory.elf")
    assert core.truncated is None and len(core.cpus) == 1
    assert core.cpus[0]["rip"] >= 0xFFFF800000000000  # the vCPU stopped in the kernel


def test_same_bug_one_bucket_other_bug_another(run_dir: Path, tmp_path: Path) -> None:
    findings = analyse_path(run_dir)
    titles = sorted(f.crash.title for f in findings if f.crash)
    assert titles == ["BUG: kernel NULL pointer dereference in hscrash!hscrash_routine"] * 2 + [
        "kernel BUG in hscrash!hscrash_swap_phase"
    ]
    store = tmp_path / "crashes.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "triage", str(run_dir), "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "[new]" in line]
    counts = sorted((line.split()[1], line.split("  ")[-2].strip()) for line in lines)
    assert len(lines) == 2
    assert counts == [
        ("1", "kernel BUG in hscrash!hscrash_swap_phase"),
        ("2", "BUG: kernel NULL pointer dereference in hscrash!hscrash_routine"),
    ]
