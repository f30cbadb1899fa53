"""How a command's failure reaches the user, the same for every `harness` subcommand: one
line on stderr and the exit status of its class (`harness.errors.ExitStatus`). A harness
bug (any exception without a class) gets exit status INTERNAL and its traceback goes to a
log file, never to the screen, where a CI log would keep it without anyone reading it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from harness.errors import ExitStatus, HarnessError

__all__ = ["LOG_DIR_ENV", "log_dir", "status_of"]

LOG_DIR_ENV = "HARNESS_LOG_DIR"
"""Environment variable naming where tracebacks of internal errors go."""

# an OSError about a path the user named (a directory where a file was meant, a missing
# parent) is bad input; one about the machine (a full disk, an I/O error) is infrastructure
_BAD_PATH = {
    errno.ENOENT,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.ENOTEMPTY,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EROFS,
    errno.ENXIO,
}
_MACHINE = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EFBIG,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOMEM,
}


def log_dir() -> Path:
    """Where internal-error logs go: $HARNESS_LOG_DIR, else the XDG state directory."""
    if os.environ.get(LOG_DIR_ENV):
        return Path(os.environ[LOG_DIR_ENV])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hotswap-harness" / "logs"


def _save_traceback(command: str, exc: BaseException) -> Path | None:
    text = "".join(traceback.format_exception(exc))
    name = f"internal-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    header = f"harness {command}: {' '.join(sys.argv)}\n"
    for directory in (log_dir(), Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / name
            # 0600: an exception's message may quote a config line
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(header + text)
            return path
        except OSError:
            continue
    return None


def _say(command: str, message: str) -> None:
    # stderr closed or a broken pipe: the exit status still tells
    with contextlib.suppress(OSError, ValueError):
        print(f"harness {command}: {message}", file=sys.stderr, flush=True)


def status_of(command: str, exc: BaseException) -> int:
    """Tell the user about `exc` (one line) and return the command's exit status."""
    if isinstance(exc, HarnessError):
        _say(command, f"error: {exc}")
        return int(exc.exit_code)
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] != "harness":
        # not a bug: this Python is not the environment the harness was installed into
        _say(
            command,
            f"error: Python module {exc.name!r} is missing from {sys.executable}; "
            "run the harness from its environment (.venv/bin/harness, made by "
            "`make setup`), or install the extra that provides it",
        )
        return ExitStatus.BAD_INPUT
    if isinstance(exc, OSError) and exc.filename is not None and exc.errno is not None:
        bad_path = exc.errno in _BAD_PATH
        if bad_path or exc.errno in _MACHINE:
            reason = (exc.strerror or str(exc)).lower()
            _say(command, f"error: {exc.filename}: {reason}")
            return ExitStatus.BAD_INPUT if bad_path else ExitStatus.INFRASTRUCTURE
    where = _save_traceback(command, exc)
    saved = f"traceback in {where}" if where else "the traceback could not be saved"
    _say(
        command,
        f"internal error (a bug in the harness): {type(exc).__name__}: "
        f"{_first_line(exc)}; {saved}; please report it with that file",
    )
    return ExitStatus.INTERNAL


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "(no message)"
