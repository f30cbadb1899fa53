"""`harness check`: output, exit codes, and one-line errors instead of tracebacks."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.contract import status as st
from harness.contract.convention import Convention
from harness.contract.jsonl import write_trace
from harness.contract.startctx import StartContext
from harness.contract.trace import Expectations, Header
from tests.unit.contract.script import MS, Script, valid_worker

TRACES = Path(__file__).parent / "traces"


def write(path: Path, s: Script, expectations: Expectations | None = None) -> Path:
    with path.open("wb") as f:
        write_trace(f, Header(format=1, expectations=expectations or s.expectations), s.records)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_clean_trace_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Script()
    valid_worker(s)
    code, out, _ = run(capsys, str(write(tmp_path / "t.jsonl", s)))
    assert code == 0
    assert out.strip().endswith("t.jsonl: 14 records, no violations; convention documented")


def test_violations_are_listed_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Script()
    s.create()
    bad = s.cycle(irql=2)
    s.end()
    code, out, _ = run(capsys, str(write(tmp_path / "t.jsonl", s)))
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[0].startswith("passive-entry: worker 1 entered its routine at IRQL 2")
    assert lines[0].endswith(f"[seq {bad}]")
    assert "1 violation of 1 invariant" in lines[-1]


def test_disable_and_max(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Script()
    s.create()
    for _ in range(5):
        s.cycle(irql=2)
    s.end()
    path = str(write(tmp_path / "t.jsonl", s))
    code, out, _ = run(capsys, path, "--max", "2")
    assert code == 1
    assert "3 more passive-entry violations" in out
    assert "5 violations of 1 invariant" in out
    code, out, _ = run(capsys, path, "--disable", "passive-entry")
    assert code == 0


def test_unknown_invariant_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "x.jsonl", "--disable", "nope"])
    assert info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_convention_option_overrides_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Script(Convention.INVERTED)  # TRUE ends the thread
    s.create()
    s.cycle()
    s.thread_exit()
    path = str(write(tmp_path / "t.jsonl", s))
    assert run(capsys, path)[0] == 0
    code, out, _ = run(capsys, path, "--convention", "documented")
    assert code == 1
    assert "thread-end:" in out


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    s = Script()
    valid_worker(s)
    buf = io.BytesIO()
    write_trace(buf, Header(format=1, expectations=s.expectations), s.records)
    buf.seek(0)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(buf))
    code, out, _ = run(capsys, "-")
    assert code == 0
    assert out.startswith("<stdin>: 14 records")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jsonl", "missing.jsonl: no such file"),
        (lambda d: d, "is a directory, not a trace file"),
    ],
)
def test_unreadable_path_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1


def test_malformed_trace_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b'{"kind":"header","format":1}\n{"kind":"mark","seq":1,"t":0,"label":"x"}\n'
        b'{"kind":"mark","seq":0,"t":0,"label":"y"}\n'
    )
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert err.strip() == (
        f"harness check: error: {path}:3: sequence numbers must increase: seq 0 follows seq 1"
    )


@pytest.mark.parametrize(
    ("name", "code", "invariants"),
    [("clean-swap.jsonl", 0, set()), ("lost-wakeup.jsonl", 1, {"lost-wakeup"})],
)
def test_golden_traces(
    capsys: pytest.CaptureFixture[str], name: str, code: int, invariants: set[str]
) -> None:
    got, out, _ = run(capsys, str(TRACES / name))
    assert got == code
    found = {line.split(":")[0] for line in out.splitlines()[:-1]}
    assert found == invariants


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_max_must_be_a_whole_number_of_at_least_zero(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Script()
    valid_worker(s)
    with pytest.raises(SystemExit) as exit_:
        main(["check", str(write(tmp_path / "t.jsonl", s)), "--max", value])
    assert exit_.value.code == 2
    assert "--max" in capsys.readouterr().err


def test_one_record_is_one_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Script()
    s.probe()
    code, out, _ = run(capsys, str(write(tmp_path / "t.jsonl", s)))
    assert code == 0 and ": 1 record, no violations" in out


def test_dev_zero_ends_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "/dev/zero")
    assert code == 2
    assert err.strip() == (
        "harness check: error: /dev/zero:1: the file holds binary data "
        "(NUL bytes), not a JSON Lines trace"
    )


def test_a_tick_of_slack_is_reported_as_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Script()
    s.create(ctx=StartContext(timeout=-100 * MS))
    s.wait()
    s.enter(status=st.TIMEOUT, dt=95 * MS)
    s.exit()
    s.end()
    code, out, _ = run(capsys, str(write(tmp_path / "t.jsonl", s)))
    assert code == 0
    assert "note: timeout-early: 1 STATUS_TIMEOUT came up to 5 ms before its relative" in out
