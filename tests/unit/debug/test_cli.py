"""`harness debug`: errors are one line and an exit code, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.cli import main

from .fakestub import FakeStub, qemu_like


def test_refused_gdbstub_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    assert main(["debug", "regs", "--gdbstub", f"127.0.0.1:{port}", "--timeout", "2"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused the connection" in err


def test_regs_against_a_stub(capsys: pytest.CaptureFixture[str]) -> None:
    # the fake describes no cr3: printed registers up to it, then a one-line error
    stub = FakeStub(qemu_like({20: 2, 18: 0xFFFF800000001000}, {}))
    try:
        assert main(["debug", "regs", "--gdbstub", f"127.0.0.1:{stub.port}"]) == 3
    finally:
        stub.close()
    captured = capsys.readouterr()
    assert "cr8        0x0000000000000002" in captured.out
    assert "gs_base    0xffff800000001000" in captured.out
    assert "no register 'cr3'" in captured.err and "Traceback" not in captured.err


def test_bundle_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", "bundle", str(tmp_path / "a.pyz")]) == 0
    assert (tmp_path / "a.pyz").read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["regs", "--gdbstub", "127.0.0.1:1", "--timeout", "-1"], "more than 0"),
        (["regs", "--gdbstub", "127.0.0.1:1", "--timeout", "nan"], "more than 0"),
        (["regs", "--gdbstub", "127.0.0.1:1", "--timeout", "ten"], "not a number of seconds"),
        (["regs", "--gdbstub", "127.0.0.1:70000"], "port of 1..65535"),
        (["regs", "--gdbstub", "nohostport"], "HOST:PORT"),
        (["read", "--gdbstub", "127.0.0.1:1", "0x10", "-5"], "size must be 1.."),
        (["read", "--gdbstub", "127.0.0.1:1", hex(2**64), "5"], "address must be 0x0.."),
        (["read", "--gdbstub", "127.0.0.1:1", "zz", "16"], "not a number"),
        (["break", "--gdbstub", "127.0.0.1:1", "0x10", "-n", "0"], "hits must be 1.."),
        (["break", "--gdbstub", "127.0.0.1:1", "x", "--module", "hsprobe"], "NAME=0xBASE@IMAGE"),
    ],
)
def test_bad_arguments_are_usage_errors_before_connecting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["debug", *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bundle_into_a_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["debug", "bundle", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a directory; name the file to write" in err and err.count("\n") == 1


def test_agent_refuses_a_spec_that_is_not_pykd(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:  # nothing may connect to this
        port = s.getsockname()[1]
        s.settimeout(0.1)
        assert main(["debug", "agent", "--spec", f"gdbstub:port={port}", "x"]) == 2
        with pytest.raises(TimeoutError):
            s.accept()
    assert "give a pykd:... spec" in capsys.readouterr().err


def test_every_documented_debug_command_parses() -> None:
    import argparse
    import shlex

    from harness.cli import debug
    from harness.debug.pykd import PykdOptions, _validate
    from harness.debug.spec import convert, split_spec

    docs = Path(__file__).resolve().parents[3] / "docs" / "debugging.md"
    # the "Command line" section; its placeholders stand for a port and an address
    section = docs.read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    lines = [
        line.split("   #")[0]
        .strip()
        .removeprefix(".venv/bin/")
        .replace("PORT", "1234")
        .replace("0xADDRESS", "0xffffffff81000000")
        for line in section.splitlines()
        if line.lstrip().removeprefix(".venv/bin/").startswith("harness debug ")
    ]
    assert len(lines) >= 5
    parser = argparse.ArgumentParser()
    debug.add_arguments(parser)
    for line in lines:
        args = parser.parse_args(shlex.split(line)[2:])  # SystemExit(2) on a drifted doc
        if args.action == "agent":
            name, options = split_spec(args.spec)
            _validate(convert(options, PykdOptions, name))
