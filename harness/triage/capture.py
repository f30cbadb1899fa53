"""Capture a crashed guest into a crash directory (layout: harness/triage/crashdir.py): the
host-side memory dump, the console tail, the last trace records and crash.json. Nothing runs
in the guest, so this works on a panicked or hung guest as well as a bug-checked one.

    from harness.triage.capture import capture
    capture(machine, out / "crashes" / f"{case}-r{rep}", scenario=case, repetition=rep,
            profile="linux", detected_by="console", console_since=mark)

The lab target calls it when it sees a crash, then reverts the machine; the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness.contract.jsonl import write_trace
from harness.contract.trace import FORMAT_VERSION, Header, Record
from harness.errors import InfrastructureError
from harness.triage.crashdir import (
    CONSOLE,
    DUMPS,
    TRACE_TAIL,
    Bugcheck,
    CrashInfo,
    write_info,
)
from harness.vm import Dumps, Machine

__all__ = ["CONSOLE_TAIL", "capture"]

#: console bytes kept: an oops with its call trace is a few KiB; a boot log is not needed
CONSOLE_TAIL = 256 * 1024


def capture(
    machine: Machine,
    directory: Path,
    *,
    scenario: str,
    profile: str,
    detected_by: str,
    repetition: int = 0,
    bugcheck: tuple[int, Sequence[int]] | None = None,
    guest_build: str = "",
    driver: Mapping[str, str] | None = None,
    console_since: int = 0,
    trace_tail: Sequence[Record] = (),
    dump: bool = True,
) -> CrashInfo:
    """Write `directory` (created; must not hold a crash already) and return its crash.json.

    A dump that fails is recorded in crash.json's `dump_error`, never raised: the console
    and the trace tail are worth keeping on their own."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "crash.json").exists():
        raise InfrastructureError(f"{directory} already holds a crash; use a new directory")
    text = machine.console.text(console_since)
    (directory / CONSOLE).write_text(text[-CONSOLE_TAIL:], encoding="utf-8")
    if trace_tail:
        with (directory / TRACE_TAIL).open("wb") as f:
            write_trace(
                f, Header(format=FORMAT_VERSION, source="crash-tail", scenario=scenario), trace_tail
            )
    dump_error = None
    if not dump:
        dump_error = "not requested"
    elif not isinstance(machine, Dumps):
        dump_error = f"{type(machine).__name__} cannot take host-side dumps"
    else:
        fmt = "win-dmp" if profile == "windows" else "elf"
        try:
            machine.dump(directory / DUMPS["windows" if profile == "windows" else "linux"], fmt)
        except InfrastructureError as e:
            dump_error = str(e)
    info = CrashInfo(
        scenario=scenario,
        repetition=repetition,
        machine=machine.name,
        profile="windows" if profile == "windows" else "linux",
        detected_by=detected_by,  # type: ignore[arg-type]
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        bugcheck=Bugcheck(bugcheck[0], list(bugcheck[1])) if bugcheck else None,
        guest_build=guest_build,
        driver=dict(driver or {}),
        dump_error=dump_error,
    )
    write_info(directory, info)
    return info
