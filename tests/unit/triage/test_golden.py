"""Golden files: real Linux oopses and panics (captured from the test guest kernel crashed by
hscrash.ko under QEMU; refresh with `python -m tests.integration.triage.crashguest DIR`) and
!analyze -v outputs written from the documented format. Each has its expected analysis in
expected.json; HARNESS_UPDATE_GOLDEN=1 rewrites those from what the parsers say now."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.triage.analysis import analyse_file, analyse_path
from harness.triage.model import Crash, Unanalysable

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HARNESS_UPDATE_GOLDEN") == "1"
INPUTS = sorted(
    p
    for d in ("linux", "analyze")
    for p in (GOLDEN / d).iterdir()
    if p.suffix in (".console", ".txt")
)


def _summary(path: Path) -> dict[str, Any]:
    [finding] = analyse_path(path)
    crash: Crash | None = finding.crash
    if crash is None:
        return {"unanalysable": finding.unanalysable}
    return {
        "title": crash.title,
        "bucket": crash.bucket,
        "kind": crash.kind,
        "fault": crash.fault,
        "top": crash.top(),
        "corrupted": crash.corrupted,
        "bugcheck": crash.bugcheck,
        "params": list(crash.params),
        "failure_bucket": crash.failure_bucket,
    }


def _expected(directory: Path) -> dict[str, Any]:
    path = directory / "expected.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(path: Path) -> None:
    got = _summary(path)
    expected = _expected(path.parent)
    if UPDATE:
        expected[path.name] = got
        (path.parent / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    assert path.name in expected, "no expectation: run with HARNESS_UPDATE_GOLDEN=1 and review"
    assert got == expected[path.name]


def test_two_crashes_of_one_bug_share_a_bucket_and_other_bugs_do_not() -> None:
    linux = {p.stem: analyse_file(p) for p in (GOLDEN / "linux").glob("*.console")}
    assert linux["null"].bucket == linux["null-again"].bucket
    assert linux["null"].details["report"] != linux["null-again"].details["report"]
    others = {c.bucket for name, c in linux.items() if not name.startswith("null")}
    assert len(others) == 4 and linux["null"].bucket not in others
    windows = {
        p.stem: analyse_file(p)
        for p in (GOLDEN / "analyze").glob("[0-9a-f]*.txt")
        if "xml" not in p.stem
    }
    assert windows["d1-hsprobe"].bucket == windows["d1-hsprobe-again"].bucket
    assert len({c.bucket for c in windows.values()}) == 3


def test_the_hung_task_is_pinned_on_the_worker_not_the_scheduler() -> None:
    crash = analyse_file(GOLDEN / "linux" / "hung.console")
    assert crash.fault == "hscrash!hscrash_hung_worker"
    assert crash.top()[:2] == ["__schedule+0x34d", "schedule+0x5a"]


def test_a_console_log_without_an_oops(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_text("HSGUEST READY\nTICK 1\nTICK 2\n")
    with pytest.raises(
        Unanalysable,
        match=r"no oops, BUG, WARNING or panic in the console "
        r"log \(3 lines\)",
    ):
        analyse_file(log)


def test_a_report_cut_short_is_flagged(tmp_path: Path) -> None:
    text = (GOLDEN / "linux" / "bug.console").read_text().splitlines()
    start = next(i for i, line in enumerate(text) if "kernel BUG at" in line)
    log = tmp_path / "cut.log"
    log.write_text("\n".join(text[: start + 3]) + "\n")
    crash = analyse_file(log)
    assert crash.kind == "kernel BUG" and crash.fault is None
    assert crash.corrupted == "no kernel RIP or call trace in the report (console cut short?)"
