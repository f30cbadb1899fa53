from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from harness.report.terminal import Progress, summary
from harness.results.model import RunResult, Verdict
from tests.unit.report.conftest import HOSTILE, case, run_of, violation

ESC = "\x1b"


def _drive(tty: bool, **kw: bool) -> str:
    out = io.StringIO()
    progress = Progress(out, 3, tty=tty, **kw)
    for c in (
        case("swap_while_idle"),
        case("swap_storm", Verdict.VIOLATION, violations=(violation(),)),
        case("unload_live", Verdict.NOT_APPLICABLE, message="feature disabled"),
    ):
        progress.started(c.scenario, c.repetition)
        progress.finished(c)
    progress.close()
    return out.getvalue()


def test_ci_log_gets_one_plain_line_per_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = _drive(tty=False)
    assert ESC not in text and "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"\[1/3\] swap_while_idle {12}pass {17}0\.02s", lines[0])
    assert lines[1].startswith("[2/3] swap_storm ")
    assert "violation" in lines[1] and "old_version_after_swap" in lines[1]
    assert "feature disabled" in lines[2]


def test_tty_redraws_one_status_line_and_keeps_only_non_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = _drive(tty=True)
    assert "\r\x1b[2K" in text
    assert "running swap_storm" in text
    permanent = [line.rsplit("\x1b[2K", 1)[-1] for line in text.split("\n")[:-1]]
    assert len(permanent) == 2
    assert "swap_storm" in permanent[0] and "unload_live" in permanent[1]
    assert "\x1b[1;31m" in text  # violation in red
    assert text.endswith("\r\x1b[2K")  # close() leaves a clean line


def test_no_color_keeps_tty_layout_without_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    text = _drive(tty=True)
    assert "\x1b[2K" in text
    assert not re.search(r"\x1b\[[0-9;]*m", text)


def test_tty_defaults_to_the_stream() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, plain = Tty(), io.StringIO()
    for stream in (tty, plain):
        progress = Progress(stream, 1)
        progress.started("a", 0)
        progress.finished(case("a"))
        progress.close()
    assert ESC in tty.getvalue()
    assert ESC not in plain.getvalue()


def test_repeated_runs_name_the_repetition() -> None:
    out = io.StringIO()
    progress = Progress(out, 2, tty=False, repeated=True)
    progress.finished(case("a", repetition=0))
    progress.finished(case("a", repetition=1))
    assert "a[0]" in out.getvalue() and "a[1]" in out.getvalue()


def test_hostile_message_cannot_reach_the_terminal_raw() -> None:
    out = io.StringIO()
    Progress(out, 1, tty=False).finished(case("x", Verdict.INFRA, message=HOSTILE))
    assert ESC not in out.getvalue() and "\x07" not in out.getvalue()
    assert "\\x1b[31m" in out.getvalue()


def test_summary_lists_counts_failures_convention_and_reports(
    mixed_run: RunResult, tmp_path: Path
) -> None:
    text = summary(mixed_run, tmp_path)
    assert text.startswith("FAILED: 10 cases on sim")
    assert "pass: 6, not applicable: 1, infrastructure error: 1, violation: 1, crash: 1" in text
    assert "swap_while_idle[1] (violation): old_version_after_swap" in text
    assert "alertable_wait[0] (crash): bugcheck 0x139" in text
    assert "convention: measured inverted, expected documented  <-- DIFFERS" in text
    for name in ("junit.xml", "report.html", "traces"):
        assert str(tmp_path / name) in text


def test_summary_of_a_clean_run() -> None:
    text = summary(run_of([case("a", facts={"convention": "documented"})]), Path("out"))
    assert text.startswith("PASSED: 1 cases")
    assert "failed:" not in text and "DIFFERS" not in text
    assert "convention: measured documented, expected documented" in text
