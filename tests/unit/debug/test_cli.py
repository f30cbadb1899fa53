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


def test_bad_address_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", "read", "--gdbstub", "127.0.0.1:1", "zz", "16"]) == 2
    assert "not a number" in capsys.readouterr().err


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
