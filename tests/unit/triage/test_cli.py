"""`harness triage` as a user runs it: buckets printed, `show`, HTML, and bad input as one
verdict with exit status 2 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.contract.trace import Swap, SwapPhase
from tests.unit.triage.crashdirs import make
from tests.unit.triage.test_golden import GOLDEN

REPO = Path(__file__).resolve().parents[3]


def triage(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "triage", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_directory_is_bucketed_remembered_and_shown(tmp_path: Path) -> None:
    run = tmp_path / "run"
    swap = [Swap(seq=1, t=1, swap=4, phase=SwapPhase.PRE, from_version=1, to_version=2)]
    make(run, "swap_busy-r0", console="null", trace=swap)
    make(run, "swap_busy-r1", console="null-again")
    make(run, "phases-r0", console="bug")
    store = tmp_path / "crashes.sqlite"
    first = triage(str(run), "--store", str(store), "--html", str(tmp_path / "crashes.html"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("[new]") == 2
    assert "BUG: kernel NULL pointer dereference in hscrash!hscrash_routine  [new]" in first.stdout
    again = triage(str(run), "--store", str(store))
    assert "[new]" not in again.stdout  # seen before
    listed = triage(str(store))
    bucket = next(line.split()[0] for line in listed.stdout.splitlines() if "NULL" in line)
    assert next(line.split()[1] for line in listed.stdout.splitlines() if "NULL" in line) == "2"
    shown = triage("show", bucket[:6], "--store", str(store))
    assert shown.returncode == 0, shown.stderr
    assert "scenarios:      swap_busy" in shown.stdout
    assert "DriverProxy: swap 4 v1->v2 at pre" in shown.stdout
    assert "hscrash!hscrash_routine+0x5  (context)" in shown.stdout
    page = (tmp_path / "crashes.html").read_text()
    assert "swap 4 v1-&gt;v2 at pre" in page and f'id="bucket-{bucket}"' in page


def test_bad_input_is_one_verdict_exit_2_no_traceback(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_text("HSGUEST READY\nTICK 1\n")
    cases = {
        log: "unanalysable: no oops, BUG, WARNING or panic in the console log (2 lines)",
        GOLDEN / "analyze" / "user-mode.txt": "unanalysable: !analyze output: user-mode",
        GOLDEN / "analyze" / "xml-output.txt": "unanalysable: XML (!analyze -xml) output",
        GOLDEN / "linux" / "null.elf-head": "unanalysable: an ELF core holds registers",
    }
    for path, verdict in cases.items():
        before = path.read_bytes()
        done = triage(str(path), "--no-store")
        assert done.returncode == 2, (path, done.stdout, done.stderr)
        assert f"{path}: {verdict}" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        assert path.read_bytes() == before
    missing = triage(str(tmp_path / "nothing"), "--no-store")
    assert missing.returncode == 2 and "no such file or directory" in missing.stderr
    unknown = triage("show", "ffff", "--store", str(tmp_path / "empty.sqlite"))
    assert unknown.returncode == 2 and "no bucket 'ffff'" in unknown.stderr


def test_a_windows_dump_gives_its_bug_check_first(tmp_path: Path) -> None:
    run = tmp_path / "run"
    crash = make(run, "swap-r0", dump_type=8)
    done = triage(str(crash / "memory.dmp"), "--no-store")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(
        f"{crash / 'memory.dmp'}: bug check 0xD1 "
        "DRIVER_IRQL_NOT_LESS_OR_EQUAL (0x0, 0x2, 0x0, 0xfffff80051231100)"
    )


def test_harness_run_report_gets_a_crashes_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.cli.run import _crashes

    out = tmp_path / "run"
    make(out, "swap_busy-r0", console="null")
    monkeypatch.setenv("HARNESS_CRASH_STORE", str(tmp_path / "store.sqlite"))
    section = _crashes(out)
    assert "<h2>Crashes" in section and "hscrash!hscrash_routine" in section
    assert "<b>new</b>" in section
    assert _crashes(tmp_path / "no-crashes") == ""
