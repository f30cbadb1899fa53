from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.html import write_selftest_html
from harness.results.model import Verdict
from harness.results.selftest import MutantRow, SelftestMatrix, render_selftest_text

SCENARIOS = ["feature_probe", "swap_while_idle", "swap_storm", "timeouts"]


@pytest.fixture
def matrix() -> SelftestMatrix:
    return SelftestMatrix(
        scenarios=SCENARIOS,
        baseline=dict.fromkeys(SCENARIOS, Verdict.PASS),
        mutants=[
            MutantRow(
                name="lost_signal",
                description="drops a signal delivered while the worker waits",
                caught_by=["swap_storm"],
                verdicts={
                    **dict.fromkeys(SCENARIOS, Verdict.PASS),
                    "swap_storm": Verdict.VIOLATION,
                },
            ),
            MutantRow(
                name="early_timeout",
                description="fires timeouts one tick early <sic>",
                caught_by=[],
                verdicts=dict.fromkeys(SCENARIOS, Verdict.PASS),
            ),
            MutantRow(
                name="stall_leak",
                caught_by=[],
                asserted_by=["swap_storm"],
                verdicts=dict.fromkeys(SCENARIOS, Verdict.PASS),
            ),
        ],
    )


def test_text_marks_catches_and_survivors(matrix: SelftestMatrix) -> None:
    lines = render_selftest_text(matrix).splitlines()
    assert lines[0].split() == ["1", "2", "3", "4"]
    row = next(line for line in lines if line.startswith("lost_signal"))
    assert row.split()[1:] == [".", ".", "x", ".", "1"]
    survivor = next(line for line in lines if line.startswith("early_timeout"))
    assert survivor.endswith("SURVIVED") and "x" not in survivor.split()
    asserted = next(line for line in lines if line.startswith("stall_leak"))
    assert asserted.split()[1:] == [".", ".", "a", ".", "ASSERTION", "ONLY"]
    assert " 3 swap_storm" in lines
    assert lines[-1] == (
        "mutation score 1/3: mutants the checker alone catches; ONLY AN "
        "ASSERTION CAUGHT: stall_leak; SURVIVED: early_timeout"
    )
    assert matrix.score == (1, 3) and not matrix.ok


def test_text_tells_an_unjudged_survivor_from_a_survivor(matrix: SelftestMatrix) -> None:
    """A mutant whose machine failed was not judged there: E, and the row says so."""
    matrix.mutants[1].verdicts["swap_storm"] = Verdict.INFRA
    lines = render_selftest_text(matrix).splitlines()
    survivor = next(line for line in lines if line.startswith("early_timeout"))
    assert survivor.split()[1:5] == [".", ".", "E", "."]
    assert survivor.endswith("SURVIVED (1 infrastructure error)")


def test_text_flags_a_failing_baseline(matrix: SelftestMatrix) -> None:
    matrix.baseline["timeouts"] = Verdict.VIOLATION
    matrix.mutants[1].caught_by.append("timeouts")
    matrix.mutants[2].caught_by.append("timeouts")
    text = render_selftest_text(matrix)
    baseline = next(line for line in text.splitlines() if line.startswith("baseline"))
    assert baseline.split()[1:] == [".", ".", ".", "!", "FAILED"]
    assert "SURVIVED" not in text
    assert matrix.baseline_failures == ["timeouts"] and not matrix.ok


def test_html_matrix(matrix: SelftestMatrix, tmp_path: Path) -> None:
    path = tmp_path / "selftest.html"
    write_selftest_html(matrix, path)
    raw = path.read_text(encoding="utf-8")
    classes: list[str] = []

    class Cells(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "td" and "cell" in (dict(attrs).get("class") or ""):
                classes.append(dict(attrs)["class"] or "")

    Cells().feed(raw)
    assert len(classes) == 4 * len(SCENARIOS)
    assert classes.count("cell v-violation") == 1
    assert classes.count("cell v-pass") == len(SCENARIOS)  # the baseline row
    assert "SURVIVED" in raw and "FAIL" in raw and "ASSERTION ONLY" in raw
    assert "mutation score 1/3" in raw
    assert "&lt;sic&gt;" in raw and "<sic>" not in raw
