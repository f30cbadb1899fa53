"""Runs never collide and never lose or fake results: unique run ids, one directory per run,
every report written atomically, `out/latest` a link swapped when a run ends, and a trace
that cannot be written is the case's infrastructure error."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError, InfrastructureError
from harness.files import atomic_writer, write_atomic
from harness.results.rundir import MARKER, claim
from harness.scenarios.runner import run_suite

REPO = Path(__file__).resolve().parents[3]


def harness_run(cwd: Path, *args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )  # type: ignore[call-overload]


def test_two_runs_started_in_the_same_second_never_share_a_directory(tmp_path: Path) -> None:
    procs = [harness_run(tmp_path, "-k", kw) for kw in ("swap_storm", "feature_probe")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    runs = sorted((tmp_path / "out").glob("run-*"))
    assert len(runs) == 2
    ids = set()
    for run in runs:  # each directory holds exactly its own run
        results = json.loads((run / "results.json").read_text())
        ids.add(results["run_id"])
        assert run.name == f"run-{results['run_id']}"
        assert (run / MARKER).read_text().strip() == results["run_id"]
        names = {c["scenario"] for c in results["cases"]}
        junit = {t.get("name") for t in ET.parse(run / "junit.xml").iter("testcase")}
        assert junit == names and len(names) == 1
        assert {p.name for p in (run / "traces").iterdir()} == {f"{n}-r0.jsonl" for n in names}
    assert len(ids) == 2
    latest = tmp_path / "out" / "latest"
    assert latest.is_symlink() and os.readlink(latest) in {r.name for r in runs}


def test_latest_is_a_link_to_the_run_that_ended_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for keyword in ("swap_storm", "feature_probe"):
        assert main(["run", "-k", keyword]) == 0
        latest = tmp_path / "out" / "latest"
        assert latest.is_symlink()
        results = json.loads((latest / "results.json").read_text())
        assert [c["scenario"] for c in results["cases"]] == [keyword]
    assert not list((tmp_path / "out").glob(".latest*"))  # no temporary link left


def test_a_legacy_latest_directory_is_left_alone_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "latest").mkdir(parents=True)
    (tmp_path / "out" / "latest" / "junit.xml").write_text("old")
    assert main(["run", "-k", "feature_probe"]) == 0
    assert "out/latest not pointed at run-" in capsys.readouterr().err
    assert (tmp_path / "out" / "latest" / "junit.xml").read_text() == "old"


@pytest.mark.parametrize("setup", ["file", "parent-file", "non-empty", "claimed"])
def test_out_must_be_a_new_or_empty_directory(
    tmp_path: Path, setup: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    if setup == "file":
        out.write_text("")
        says = "is not a directory"
    elif setup == "parent-file":
        out.write_text("")
        out = out / "sub"
        says = "cannot be created"
    elif setup == "non-empty":
        out.mkdir()
        (out / "junit.xml").write_text("an older run's")
        says = "is not empty (junit.xml)"
    else:
        claim(out, datetime.now(UTC))
        says = "already holds run"
    assert main(["run", "-k", "feature_probe", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    if setup == "non-empty":  # untouched, and not claimed by the refused run
        assert sorted(p.name for p in out.iterdir()) == ["junit.xml"]


def test_a_taken_out_is_refused_before_the_target_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lab target boots a machine when it opens: a taken --out is refused before that."""
    (tmp_path / "junit.xml").write_text("an older run's")
    missing = tmp_path.parent / "no-such-lab.toml"
    assert main(["run", "--target", f"lab:{missing}", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not empty (junit.xml)" in err and "no-such-lab.toml" not in err


def test_an_empty_out_directory_is_claimed(tmp_path: Path) -> None:
    assert main(["run", "-k", "feature_probe", "--out", str(tmp_path)]) == 0
    assert (tmp_path / MARKER).is_file() and (tmp_path / "junit.xml").is_file()
    with pytest.raises(ConfigError, match="already holds run"):
        claim(tmp_path, datetime.now(UTC))


def test_a_trace_that_cannot_be_written_is_the_cases_infrastructure_error(tmp_path: Path) -> None:
    (tmp_path / "traces").write_text("a file where the trace directory should be")
    suite = run_suite(keyword="swap_storm or feature_probe", out=str(tmp_path))
    assert {c.verdict.value for c in suite.cases} == {"infrastructure_error"}
    for case in suite.cases:
        assert "trace was not written" in case.message and case.trace is None


def test_a_full_disk_for_traces_fails_the_run_and_says_so(tmp_path: Path) -> None:
    """Files over 20 kB cannot be written (RLIMIT_FSIZE: what a nearly full disk does to
    the largest file): the trace fails, the small reports still tell about it."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    proc = harness_run(tmp_path, "-k", "swap_storm", "--out", str(tmp_path / "r"), preexec_fn=limit)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    [case] = results["cases"]
    assert case["verdict"] == "infrastructure_error"
    assert "trace was not written" in case["message"] and "too large" in case["message"]
    assert "infrastructure" in out.lower()
    assert list((tmp_path / "r" / "traces").iterdir()) == []  # no partial trace


def test_an_interrupted_run_keeps_what_ran_and_leaves_latest_alone(tmp_path: Path) -> None:
    assert main(["run", "-k", "feature_probe", "--out", str(tmp_path / "first")]) == 0
    out = tmp_path / "out"
    proc = harness_run(tmp_path, "--repeat", "200", "-k", "swap_storm")
    deadline = time.monotonic() + 60
    # a case's trace is written before the case is recorded: once r4's trace exists, r0-r3
    # are recorded for sure
    while time.monotonic() < deadline and not list(out.glob("run-*/traces/*r4.jsonl")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out_text, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err
    assert out_text.startswith("INTERRUPTED: ") and "PASSED" not in out_text
    [run] = out.glob("run-*")
    results = json.loads((run / "results.json").read_text())
    assert results["complete"] is False
    assert 4 <= len(results["cases"]) < 200
    assert "INTERRUPTED" in (run / "report.html").read_text()
    props = {p.get("name"): p.get("value") for p in ET.parse(run / "junit.xml").iter("property")}
    assert props["complete"].startswith("false")
    assert len(list((run / "traces").iterdir())) >= len(results["cases"])
    assert not (out / "latest").exists()  # it points only at runs that ended


def test_atomic_writes_leave_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_atomic(path, "old")
    with pytest.raises(RuntimeError), atomic_writer(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("killed midway")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    write_atomic(path, "new")
    assert path.read_text() == "new" and path.stat().st_mode & 0o777 == 0o644
    with pytest.raises(InfrastructureError, match=r"cannot write .*x/y"):
        (tmp_path / "x").write_text("")
        write_atomic(tmp_path / "x" / "y", "z")
