"""The exit-status contract of every `harness` subcommand (harness.errors.ExitStatus): 0
clean, 1 failures, 2 bad input, 3 infrastructure, 70 a harness bug (one line on stderr, the
traceback in a log file), 130/143 after SIGINT/SIGTERM."""

from __future__ import annotations

import errno
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cli import COMMANDS, main
from harness.errors import ConfigError, ExitStatus, InfrastructureError

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "logs"
    monkeypatch.setenv("HARNESS_LOG_DIR", str(where))
    return where


def _command_with(monkeypatch: pytest.MonkeyPatch, name: str, error: BaseException) -> None:
    """Subcommand `name` with no arguments, failing with `error` once it runs."""
    module = importlib.import_module(COMMANDS[name][0])

    def fail(_args: Any) -> int:
        raise error

    monkeypatch.setattr(module, "add_arguments", lambda _parser: None)
    monkeypatch.setattr(module, "main", fail)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_bug_in_any_subcommand_is_one_line_and_a_logged_traceback(
    name: str, logs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _command_with(monkeypatch, name, KeyError("slot"))
    assert main([name]) == ExitStatus.INTERNAL == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"harness {name}: internal error (a bug in the harness): KeyError")
    [log] = logs.iterdir()
    assert str(log) in err
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'slot'" in text
    assert log.stat().st_mode & 0o077 == 0  # the log may quote configs: owner only


@pytest.mark.parametrize(
    ("error", "status", "says"),
    [
        (ConfigError("field x: bad"), 2, "error: field x: bad"),
        (InfrastructureError("libvirtd hung"), 3, "error: libvirtd hung"),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "/tmp"),
            2,
            "error: /tmp: is a directory",
        ),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/x/y"), 2, "/x/y: no such"),
        (OSError(errno.ENOSPC, "No space left on device", "/out/r"), 3, "/out/r: no space left"),
        (OSError(errno.EBADF, "Bad file descriptor"), 70, "internal error"),
        (
            ModuleNotFoundError("No module named 'msgspec'", name="msgspec"),
            2,
            "Python module 'msgspec' is missing from",
        ),
        (ModuleNotFoundError("No module named 'harness.x'", name="harness.x"), 70, "internal"),
        (SystemExit("harness run: --repeat must be at least 1"), 2, "--repeat must be"),
    ],
)
def test_each_class_of_failure_has_its_status(
    error: BaseException,
    status: int,
    says: str,
    logs: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _command_with(monkeypatch, "scenarios", error)
    assert main(["scenarios"]) == status
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert logs.exists() == (status == 70)


def test_the_traceback_goes_to_a_temporary_directory_when_the_log_dir_is_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("HARNESS_LOG_DIR", str(blocker / "logs"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    _command_with(monkeypatch, "scenarios", ValueError("boom"))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    assert main(["scenarios"]) == 70
    assert f"traceback in {tmp_path}/internal-" in capsys.readouterr().err


def harness(
    *args: str, env: dict[str, str] | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "harness", *args]
    return subprocess.run(
        argv,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_a_real_process_with_a_deep_bug_exits_70_without_a_traceback_on_screen(
    tmp_path: Path,
) -> None:
    code = (
        "import sys; import harness.contract.jsonl as j\n"
        "def boom(*a, **k): raise ZeroDivisionError('deep')\n"
        "j.TraceReader.feed = boom\n"
        "from harness.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"format": 1}\n')
    done = harness("check", str(trace), code=code, env={"HARNESS_LOG_DIR": str(tmp_path)})
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert "ZeroDivisionError: deep" in done.stderr


def test_bare_harness_is_a_usage_error_not_a_clean_exit() -> None:
    done = harness()
    assert done.returncode == 2
    assert "usage: harness" in done.stderr and "a command is required" in done.stderr
    assert done.stdout == ""
    assert harness("--help").returncode == 0
    assert harness("nonsense").returncode == 2


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_unwinds_the_command_through_its_finally_blocks(
    tmp_path: Path, sig: int, status: int
) -> None:
    marker = tmp_path / "released"
    code = (
        "import sys, threading\n"
        "import harness.cli.scenarios as m\n"
        "def hold(args):\n"
        "    try:\n"
        "        print('holding', flush=True); threading.Event().wait()\n"
        f"    finally:\n        open({str(marker)!r}, 'w').close()\n"
        "m.main = hold\n"
        "from harness.cli import main; sys.exit(main(['scenarios']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "holding\n"
    began = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - began < 5
    assert proc.returncode == status, err
    assert marker.exists()
    assert err.strip() == "harness scenarios: interrupted"
