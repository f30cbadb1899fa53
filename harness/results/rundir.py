"""A run's own directory: a run id no other run gets (two runs started in the same second
must not share a directory and mix their results), a directory only this run writes, and
`out/latest`, a symbolic link swapped atomically to the run once it has ended.

    out/run-20260101T120000Z-3fa9c1/   junit.xml, report.html, results.json, traces/
    out/latest -> run-20260101T120000Z-3fa9c1

A directory named with `--out` must be new or empty: a run claims it by creating `.run-id`
with O_EXCL, so two runs given the same directory cannot both write there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness.errors import ConfigError

__all__ = ["MARKER", "RunDir", "check_free", "claim", "new_run_id"]

MARKER = ".run-id"
"""The file that says which run owns a directory."""
DEFAULT_BASE = Path("out")


def new_run_id(started: datetime) -> str:
    """The start time (UTC, to the second) and 24 random bits: unique, and sorts by time."""
    return f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunDir:
    run_id: str
    path: Path
    latest: Path | None = None
    """The link to point at `path` when the run ends (only for the default location)."""

    def publish(self) -> None:
        """Point `latest` at this run, atomically: a reader sees the old run or the new
        one, never a missing or half-made link."""
        if self.latest is None:
            return
        tmp = self.latest.with_name(f".{self.latest.name}-{self.run_id}")
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.path.name)
            os.replace(tmp, self.latest)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            why = (
                "it is a directory left by an older harness; remove it"
                if self.latest.is_dir() and not self.latest.is_symlink()
                else e.strerror
            )
            print(
                f"harness run: {self.latest} not pointed at {self.path.name}: {why}",
                file=sys.stderr,
            )


def claim(out: str | Path | None, started: datetime, base: Path = DEFAULT_BASE) -> RunDir:
    """The directory of a new run: `out` (new or empty) if given, else base/run-ID."""
    run_id = new_run_id(started)
    if out is not None:
        return RunDir(run_id, _claim_named(Path(out), run_id))
    try:
        base.mkdir(parents=True, exist_ok=True)
        while True:  # a collision of 24 random bits in one second: draw again
            path = base / f"run-{run_id}"
            try:
                path.mkdir()
                break
            except FileExistsError:
                run_id = new_run_id(started)
        _mark(path, run_id)
    except OSError as e:
        raise ConfigError(
            f"cannot create a run directory under {base}: {e.strerror}; "
            "run from a directory you can write, or pass --out DIR"
        ) from None
    return RunDir(run_id, path, base / "latest")


def _mark(path: Path, run_id: str) -> None:
    fd = os.open(path / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(run_id + "\n")


def _claim_named(path: Path, run_id: str) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(
            f"--out {path}: is not a directory; name a new or empty directory"
        ) from None
    except OSError as e:
        raise ConfigError(
            f"--out {path}: cannot be created ({e.strerror}); name a new or "
            "empty directory you can write"
        ) from None
    try:
        _mark(path, run_id)
    except FileExistsError:
        raise _taken(path) from None
    except OSError as e:
        raise ConfigError(f"--out {path}: cannot be written ({e.strerror})") from None
    others = sorted(p.name for p in path.iterdir() if p.name != MARKER)
    if others:
        (path / MARKER).unlink()
        raise _not_empty(path, others)
    return path


def check_free(out: str | Path | None) -> None:
    """Refuse a named `--out` that is already taken, before anything slow runs (a lab target
    boots a machine first); `claim` checks again as it takes the directory."""
    if out is None:
        return
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: is not a directory; name a new or empty directory")
    if (path / MARKER).is_file():
        raise _taken(path)
    if path.is_dir():
        others = sorted(p.name for p in path.iterdir())
        if others:
            raise _not_empty(path, others)


def _taken(path: Path) -> ConfigError:
    owner = (path / MARKER).read_text(errors="replace").strip()
    return ConfigError(
        f"--out {path}: already holds run {owner}; runs never share a "
        "directory: name a new one, or leave out --out"
    )


def _not_empty(path: Path, names: list[str]) -> ConfigError:
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return ConfigError(
        f"--out {path}: is not empty ({shown}); runs never share a "
        "directory: name a new or empty one, or leave out --out"
    )
