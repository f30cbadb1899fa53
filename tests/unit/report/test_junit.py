from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report.junit import write_junit
from harness.results.model import RunResult, Verdict
from tests.unit.report.conftest import case, run_of, violation


def _suite(run: RunResult, tmp_path: Path) -> ET.Element:
    path = tmp_path / "out" / "junit.xml"
    write_junit(run, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def test_counts_match_verdicts(mixed_run: RunResult, tmp_path: Path) -> None:
    suite = _suite(mixed_run, tmp_path)
    assert suite.attrib["tests"] == "10"
    assert suite.attrib["failures"] == "1"
    assert suite.attrib["errors"] == "2"
    assert suite.attrib["skipped"] == "1"
    assert suite.attrib["time"] == "1.500"
    assert suite.attrib["timestamp"] == "2026-11-21T19:37:04"
    assert suite.attrib["hostname"]
    assert len(suite.findall("testcase")) == 10


def test_repeated_scenarios_are_named_with_their_repetition(
    mixed_run: RunResult, tmp_path: Path
) -> None:
    names = [tc.attrib["name"] for tc in _suite(mixed_run, tmp_path).iter("testcase")]
    assert "swap_while_idle[2]" in names
    assert len(set(names)) == len(names)
    classes = {tc.attrib["classname"] for tc in _suite(mixed_run, tmp_path).iter("testcase")}
    assert classes == {"hotswap.sim"}


def test_single_repetition_keeps_plain_names(tmp_path: Path) -> None:
    suite = _suite(run_of([case("a"), case("b")]), tmp_path)
    assert [tc.attrib["name"] for tc in suite.iter("testcase")] == ["a", "b"]


def test_verdicts_map_to_failure_error_and_skipped(mixed_run: RunResult, tmp_path: Path) -> None:
    cases = {tc.attrib["name"]: tc for tc in _suite(mixed_run, tmp_path).iter("testcase")}
    failure = cases["swap_while_idle[1]"].find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "contract_violation"
    assert "old_version_after_swap" in (failure.text or "")
    assert '{"seq":42,"kind":"swap_done","version":2}' in (failure.text or "")
    errors = {name: tc.find("error") for name, tc in cases.items()}
    assert errors["swap_storm[0]"] is not None
    assert errors["swap_storm[0]"].attrib["type"] == "infrastructure_error"
    assert errors["alertable_wait[0]"] is not None
    assert errors["alertable_wait[0]"].attrib["type"] == "guest_crash"
    assert errors["swap_while_idle[1]"] is None
    skipped = cases["unload_live[0]"].find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"] == "DriverProxy feature disabled"
    passed = cases["feature_probe[0]"]
    assert [child.tag for child in passed] == ["system-out"]
    assert float(cases["swap_while_idle[2]"].attrib["time"]) == 0.3


def test_properties_and_trace_path(mixed_run: RunResult, tmp_path: Path) -> None:
    suite = _suite(mixed_run, tmp_path)
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert props == {
        "target": "sim",
        "seed": "7",
        "run_id": "20261121-193704-abc",
        "harness_version": "0.1.0",
        "expected_convention": "documented",
        "complete": "true",
    }
    out = next(tc for tc in suite.iter("testcase") if tc.attrib["name"] == "convention[0]")
    text = out.findtext("system-out") or ""
    assert "traces/convention-0.jsonl" in text
    assert "convention: inverted" in text


def test_hostile_text_is_escaped_and_control_characters_replaced(
    hostile_run: RunResult, tmp_path: Path
) -> None:
    path = tmp_path / "junit.xml"
    write_junit(hostile_run, path)
    raw = path.read_text(encoding="utf-8")
    assert "<script>" not in raw
    assert "\x00" not in raw
    assert "\x1b" not in raw
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    failure = suite.find("testcase/failure")
    assert failure is not None
    # The text survives, visibly: markup as text, controls as escapes.
    assert '<script>alert("x")</script>' in failure.attrib["message"]
    assert "\\x00\\x1b[31m\\x07" in (failure.text or "")


def test_a_dotted_target_stays_one_class(tmp_path: Path) -> None:
    suite = _suite(run_of([case("a", Verdict.PASS)], target="lab1.example.org"), tmp_path)
    assert suite.find("testcase/[@classname='hotswap.lab1_example_org']") is not None


def test_failure_message_names_the_first_invariant(tmp_path: Path) -> None:
    both = (violation(), violation("b"))
    run = run_of([case("s", Verdict.VIOLATION, message="long story", violations=both)])
    failure = _suite(run, tmp_path).find("testcase/failure")
    assert failure is not None
    assert failure.attrib["message"].startswith("old_version_after_swap: After a completed")
    assert failure.attrib["message"].endswith("(+1 more)")
    assert (failure.text or "").startswith("long story\n[old_version_after_swap]")
    assert "[b] " in (failure.text or "")


def test_empty_run_is_still_a_valid_report(tmp_path: Path) -> None:
    suite = _suite(run_of([], duration=0.0), tmp_path)
    assert suite.attrib["tests"] == "0" and suite.attrib["time"] == "0.000"
    assert suite.findall("testcase") == []
