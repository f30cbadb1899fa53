"""Console stream: whole lines only, CRLF, marks, and the two ways a wait fails."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness.errors import GuestBootError, HarnessTimeoutError
from harness.vm.console import ConsoleLog


def test_waits_for_a_line_written_later(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"boot\r\n")
    console = ConsoleLog(log, "m")
    timer = threading.Timer(0.2, lambda: log.write_bytes(b"boot\r\nTICK 1\r\n"))
    timer.start()
    found = console.wait_for(r"^TICK (\d+)$", timeout=5)
    timer.join()
    assert found[1] == "1"


def test_a_half_written_line_does_not_match(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"TICK 1")  # "TICK 12" may still be on its way
    console = ConsoleLog(log, "m")
    with pytest.raises(HarnessTimeoutError, match=r"m: no console line matching /\^TICK 1\$/"):
        console.wait_for(r"^TICK 1$", timeout=0.2)


def test_mark_skips_what_came_before(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"TICK 1\nTICK 2\n")
    console = ConsoleLog(log, "m")
    assert console.wait_for(r"^TICK (\d+)$", timeout=1)[1] == "1"
    console.mark()
    with log.open("ab") as f:
        f.write(b"TICK 3\n")
    assert console.wait_for(r"^TICK (\d+)$", timeout=1)[1] == "3"
    assert console.wait_for(r"^TICK (\d+)$", timeout=1, since=0)[1] == "1"


def test_a_stopped_machine_fails_at_once_as_a_boot_error(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"Kernel panic - not syncing\n")
    console = ConsoleLog(log, "m", alive=lambda: False)
    with pytest.raises(GuestBootError, match=r"m stopped before .*Kernel panic"):
        console.wait_for("HSGUEST READY", timeout=60)


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    console = ConsoleLog(tmp_path / "absent.log", "m")
    assert console.mark() == 0 and console.text() == ""
