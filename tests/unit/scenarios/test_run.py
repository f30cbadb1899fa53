"""`harness run`, `harness scenarios` and the pytest entry point, end to end on the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.contract.check import check
from harness.contract.jsonl import read_trace


def test_run_writes_reports_and_clean_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--out", str(tmp_path), "--seed", "3"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and int(suite.get("tests", "0")) >= 20
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    html = (tmp_path / "report.html").read_text()
    assert "swap_storm" in html
    traces = sorted((tmp_path / "traces").glob("*.jsonl"))
    assert len(traces) == int(suite.get("tests", "0"))
    for path in traces:  # what the suite wrote, the standalone checker accepts
        with path.open("rb") as f:
            header, records = read_trace(f, path=str(path))
            assert check(records, header.expectations) == [], path.name
    results = json.loads((tmp_path / "results.json").read_text())
    verdicts = {c["scenario"]: c["verdict"] for c in results["cases"]}
    assert verdicts.pop("fallback_worker_where_the_feature_is_off") == "not_applicable"
    assert set(verdicts.values()) == {"pass"}
    assert "report.html" in out.out


def test_repeat_runs_each_scenario_n_times(tmp_path: Path) -> None:
    assert main(["run", "--out", str(tmp_path), "--repeat", "3", "-k", "swap_storm"]) == 0
    cases = json.loads((tmp_path / "results.json").read_text())["cases"]
    assert [(c["scenario"], c["repetition"]) for c in cases] == [
        ("swap_storm", 0),
        ("swap_storm", 1),
        ("swap_storm", 2),
    ]


def test_feature_disabled_makes_worker_scenarios_not_applicable(tmp_path: Path) -> None:
    assert main(["run", "--target", "sim:feature=disabled", "--out", str(tmp_path)]) == 0
    cases = json.loads((tmp_path / "results.json").read_text())["cases"]
    verdicts = {c["scenario"]: c["verdict"] for c in cases}
    assert verdicts.pop("feature_probe") == "pass"
    assert verdicts.pop("fallback_worker_where_the_feature_is_off") == "pass"
    assert set(verdicts.values()) == {"not_applicable"}
    reasons = {c["message"] for c in cases if c["verdict"] == "not_applicable"}
    assert all("STATUS_NOT_SUPPORTED" in r for r in reasons)


def test_convention_mismatch_is_a_violation_with_the_measured_fact(tmp_path: Path) -> None:
    code = main(
        [
            "run",
            "--target",
            "sim:convention=inverted",
            "--convention",
            "documented",
            "--out",
            str(tmp_path),
            "-k",
            "convention",
        ]
    )
    assert code == 1
    case = json.loads((tmp_path / "results.json").read_text())["cases"][0]
    assert case["verdict"] == "violation"
    assert case["facts"]["convention"] == "inverted"
    assert "inverted convention" in case["message"]
    # the same kernel, expected to be inverted, passes
    assert (
        main(
            [
                "run",
                "--target",
                "sim:convention=inverted",
                "--out",
                str(tmp_path / "b"),
                "-k",
                "convention",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--target", "sim:mutant=bogus"], "unknown mutant 'bogus'"),
        (["run", "-k", "no_such_scenario"], "no scenario matches"),
        (["check", "/nonexistent/trace.jsonl"], "trace.jsonl"),
    ],
)
def test_bad_input_is_one_message_and_no_traceback(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv, "--out", str(tmp_path)] if argv[0] == "run" else argv)
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and "Traceback" not in err


def test_scenarios_lists_the_suite(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    for expected in (
        "feature_probe",
        "swap_while_idle",
        "swap_with_call_in_flight",
        "swap_storm",
        "unload_with_live_worker",
        "return_convention_measured",
    ):
        assert expected in names
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), "every line has a title"


def test_pytest_pyargs_entry_point_runs_the_suite(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "harness.scenarios",
            "--hs-target",
            "sim:mutant=dispatch-level",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "swap_while_idle",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout
    assert "passive-entry" in proc.stdout or "IRQL 2" in proc.stdout


def test_plugin_options_do_not_pollute_another_projects_pytest(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    words = [w for line in proc.stdout.splitlines() for w in line.split()]
    options = {w.split("=")[0].rstrip(",") for w in words if w.startswith("--")}
    assert "--hs-target" in options and "--hs-out" in options
    for bare in ("--target", "--seed", "--repeat", "--convention", "--debugger", "--harness-out"):
        assert bare not in options, f"the harness plugin registers {bare} in every project"


def test_the_suite_runs_unchanged_on_real_time(tmp_path: Path) -> None:
    """The model keeping pace with the wall clock: scenarios wait on conditions, not on the
    simulator's instant virtual time, and timing bounds still catch a timing bug."""
    assert main(["run", "--target", "sim:clock=real", "--out", str(tmp_path / "ok")]) == 0
    assert (
        main(
            [
                "run",
                "--target",
                "sim:clock=real,mutant=early-timeout",
                "-k",
                "timeout",
                "--out",
                str(tmp_path / "bad"),
            ]
        )
        == 1
    )
