"""Crash directories made from the golden consoles and the dump corpus, as the lab writes them."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.contract.jsonl import write_trace
from harness.contract.trace import FORMAT_VERSION, Header, Record
from harness.triage.crashdir import Bugcheck, CrashInfo, write_info
from tests.unit.triage.corpus import dump_bytes
from tests.unit.triage.test_golden import GOLDEN


def make(
    root: Path,
    name: str,
    *,
    console: str | None = None,
    dump_type: int | None = None,
    time: str = "2026-12-01T02:00:00+00:00",
    trace: list[Record] | None = None,
    bugcheck: Bugcheck | None = None,
    detected_by: str = "console",
    driver: dict[str, str] | None = None,
) -> Path:
    directory = root / "crashes" / name
    directory.mkdir(parents=True)
    profile = "windows" if dump_type is not None or bugcheck is not None else "linux"
    if console:
        shutil.copy(GOLDEN / "linux" / f"{console}.console", directory / "console.log")
    if dump_type is not None:
        (directory / "memory.dmp").write_bytes(dump_bytes(dump_type))
    if trace:
        with (directory / "trace-tail.jsonl").open("wb") as f:
            write_trace(f, Header(format=FORMAT_VERSION, source="test"), trace)
    scenario, _, rep = name.rpartition("-r")
    write_info(
        directory,
        CrashInfo(
            scenario=scenario,
            repetition=int(rep),
            profile=profile,  # type: ignore[arg-type]
            detected_by=detected_by,
            time=time,
            bugcheck=bugcheck,  # type: ignore[arg-type]
            driver=driver or {"hsprobe.sys": "ab" * 32},
        ),
    )
    return directory
