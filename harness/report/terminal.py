"""Terminal output for `harness run`: live `Progress` while cases run, and the final `summary`.

On a TTY one status line is redrawn in place and only cases that did not pass leave a
permanent line; in CI logs (no TTY) every case gets one plain line, because carriage
returns and escape sequences turn a log file into noise. Colour follows https://no-color.org.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TextIO

from harness.report.charset import one_line
from harness.report.grid import Grid, case_name, headline
from harness.report.palette import SEVERITY, look
from harness.results.model import CaseResult, RunResult, Verdict

__all__ = ["Progress", "summary"]

_CLEAR = "\r\x1b[2K"
_NAME_WIDTH = 26
_VERDICT_WIDTH = max(len(v.value) for v in Verdict)


def _colour_wanted(tty: bool) -> bool:
    return tty and not os.environ.get("NO_COLOR")


class Progress:
    """Live progress of a run of `total` cases, written to `stream`."""

    def __init__(
        self, stream: TextIO, total: int, *, tty: bool | None = None, repeated: bool = False
    ) -> None:
        """`tty` defaults to `stream.isatty()`; `repeated` (the run repeats scenarios) makes
        case names carry their repetition, `swap_while_idle[2]`, as in the other reports."""
        if tty is None:
            isatty = getattr(stream, "isatty", None)
            tty = bool(isatty and isatty())
        self._stream = stream
        self._total = total
        self._tty = tty
        self._repeated = repeated
        self._colour = _colour_wanted(tty)
        self._done = 0
        self._current = ""
        self._start = time.monotonic()
        self._status_shown = False

    def started(self, scenario: str, repetition: int) -> None:
        self._current = f"{scenario}[{repetition}]" if self._repeated else scenario
        if self._tty:
            self._draw_status()

    def finished(self, case: CaseResult) -> None:
        self._done += 1
        line = self._case_line(case)
        if not self._tty:
            self._stream.write(line + "\n")
        else:
            # Passing cases only advance the counter; the rest stay on screen for scroll-back.
            if case.verdict is not Verdict.PASS:
                self._stream.write(_CLEAR + line + "\n")
                self._status_shown = False
            self._current = ""
            self._draw_status()
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._status_shown:
            self._stream.write(_CLEAR)
            self._status_shown = False
        self._stream.flush()

    def _case_line(self, case: CaseResult) -> str:
        count = f"[{self._done:>{len(str(self._total))}}/{self._total}]"
        name = one_line(case_name(case, self._repeated))
        verdict = self._paint(case.verdict, f"{case.verdict.value:<{_VERDICT_WIDTH}}")
        line = f"{count} {name:<{_NAME_WIDTH}} {verdict} {case.duration:.2f}s"
        if case.verdict is not Verdict.PASS:
            reason = headline(case)
            line += f"  {one_line(reason, 100)}" if reason else ""
        return line

    def _draw_status(self) -> None:
        elapsed = time.monotonic() - self._start
        status = f"[{self._done}/{self._total}] {elapsed:5.1f}s"
        if self._current:
            status += f"  running {one_line(self._current)}"
        # A status line that wraps can no longer be redrawn in place with a carriage return.
        columns = shutil.get_terminal_size().columns
        self._stream.write(_CLEAR + status[: max(columns - 1, 20)])
        self._status_shown = True
        self._stream.flush()

    def _paint(self, verdict: Verdict, text: str) -> str:
        return f"\x1b[{look(verdict).ansi}m{text}\x1b[0m" if self._colour else text


def summary(run: RunResult, out_dir: Path) -> str:
    """The multi-line summary printed when a run ends; plain text, safe for any stream."""
    grid = Grid.of(run)
    counts = run.counts()
    word = "FAILED" if run.failed else "PASSED"
    if not run.complete:  # a partial run never reads as a pass
        word = "INTERRUPTED"
    lines = [
        f"{word}: {len(run.cases)} cases on {one_line(run.target)} "
        f"(seed {run.seed}, {run.duration:.2f}s)",
        "  " + ", ".join(f"{look(v).label}: {counts[v]}" for v in reversed(SEVERITY)),
    ]
    failed = [c for c in run.cases if c.verdict.failed]
    if failed:
        lines.append("failed:")
        for case in failed:
            name = one_line(case_name(case, grid.repeated))
            lines.append(f"  {name} ({case.verdict.value}): {one_line(headline(case), 120)}")
    lines.extend(_convention_lines(run))
    lines += [
        "reports:",
        f"  {out_dir / 'junit.xml'}",
        f"  {out_dir / 'report.html'}",
        f"  {out_dir / 'traces'}/",
    ]
    return "\n".join(lines)


def _convention_lines(run: RunResult) -> list[str]:
    measured = sorted({c.facts["convention"] for c in run.cases if "convention" in c.facts})
    if not measured:
        return []
    expected = run.expected_convention
    line = f"convention: measured {one_line(', '.join(measured))}"
    if expected:
        line += f", expected {expected}"
        if measured != [expected]:
            line += "  <-- DIFFERS"
    return [line]
