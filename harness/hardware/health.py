"""Health records: a rack machine that failed its health check (did not come back, booted the
wrong build, would not load the driver, its BMC stopped answering) is written down here and
not leased again until a person has fixed it and removed the record. A run never waits on, or
retries, a machine that is out.

    STATE_DIR/hardware/health/NAME.json   {"machine", "reason", "time", "pid"}
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from harness.files import write_atomic

__all__ = ["Retired", "read", "retire", "retired_dir"]


class Retired(msgspec.Struct, frozen=True, kw_only=True):
    machine: str
    reason: str
    time: str
    pid: int


def retired_dir(state: Path) -> Path:
    return state / "hardware" / "health"


def _path(state: Path, machine: str) -> Path:
    return retired_dir(state) / f"{machine}.json"


def retire(state: Path, machine: str, reason: str) -> Retired:
    """Take `machine` out of every pool on this state directory, for `reason`."""
    record = Retired(
        machine=machine,
        reason=reason[:2000],
        pid=os.getpid(),
        time=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path = _path(state, machine)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, msgspec.json.format(msgspec.json.encode(record)) + b"\n")
    return record


def read(state: Path, machine: str) -> Retired | None:
    """The record that keeps `machine` out, or None while it is healthy. A record that cannot
    be read still keeps it out: someone wrote it for a reason."""
    path = _path(state, machine)
    try:
        return msgspec.json.decode(path.read_bytes(), type=Retired)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as e:
        return Retired(
            machine=machine, reason=f"unreadable health record {path}: {e}", time="", pid=0
        )
