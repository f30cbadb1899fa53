"""Guest crashes seen from the host, and the capture a crash leaves in the run's output.

Detection, in the order the lab target asks:
- the hypervisor: libvirt's domain state is `crashed` (pvpanic, or Windows' Hyper-V crash
  MSRs); for Windows the bug-check code and its four parameters come from the domain log
  line libvirt writes for QEMU's GUEST_PANICKED event (`panic hyper-v: arg1='0x..', ...`),
  because libvirt's lifecycle event does not carry them;
- the console: a Linux oops or panic, or a Windows bug-check banner, printed by a guest that
  may still run (an oops without panic_on_oops);
- no answer: the guest runs but its channel stopped answering (`unresponsive`).

The capture layout (read by `harness triage`), per scenario and repetition:

    OUT/crashes/<case-id>-r<rep>/crash.json, console.log, memory.elf | memory.dmp,
                                  trace-tail.jsonl
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec

from harness.contract import jsonl
from harness.contract.trace import FORMAT_VERSION, Header, Record

__all__ = [
    "Bugcheck",
    "CrashInfo",
    "Detection",
    "console_crash",
    "crash_dir",
    "now",
    "parse_hyperv_panic",
    "state_crash",
    "write_capture",
]

DetectedBy = Literal["pvpanic", "hyperv", "console", "unresponsive"]

#: libvirt virDomainState values that mean the guest crashed or stopped for good
_CRASHED, _SHUTOFF, _PAUSED = 6, 5, 3
_PAUSED_CRASHED = 10  # VIR_DOMAIN_PAUSED_CRASHED
_HYPERV = re.compile(r"panic\s+hyper-v:\s*(.*)")
_ARG = re.compile(r"arg(\d)=['\"]?(0x[0-9a-fA-F]+)['\"]?")
#: console lines that mean the kernel crashed (Linux oops/panic, Windows bug-check banner)
CONSOLE_PATTERNS = (
    r"Kernel panic - not syncing",
    r"BUG: kernel NULL pointer dereference",
    r"BUG: unable to handle page fault",
    r"BUG: soft lockup",
    r"Oops: ",
    r"general protection fault",
    r"kernel BUG at ",
    r"INFO: task \S+ blocked for more than",
    r"\*\*\* STOP: 0x[0-9A-Fa-f]{8}",
    r"Your (?:PC|device) ran into a problem",
)
_CONSOLE = re.compile("|".join(f"(?:{p})" for p in CONSOLE_PATTERNS), re.M)
TAIL_BYTES = 64 * 1024
TRACE_TAIL = 200


class Bugcheck(msgspec.Struct, frozen=True):
    code: int
    params: tuple[int, int, int, int]


class Detection(msgspec.Struct, frozen=True, kw_only=True):
    """What the host saw: by which path, and the bug-check when the hypervisor gave one."""

    detected_by: DetectedBy
    summary: str
    bugcheck: Bugcheck | None = None


class CrashInfo(msgspec.Struct, frozen=True, kw_only=True):
    """crash.json."""

    scenario: str
    repetition: int
    machine: str
    profile: str
    detected_by: DetectedBy
    time: str
    bugcheck: Bugcheck | None
    guest_build: str
    driver: dict[str, str]


def parse_hyperv_panic(log: str) -> Bugcheck | None:
    """The last `panic hyper-v: arg1='0x..', ... arg5='0x..'` line of a libvirt domain log:
    arg1 is the bug-check code, arg2..arg5 its parameters (QEMU's GUEST_PANICKED info)."""
    found = None
    for line in log.splitlines():
        m = _HYPERV.search(line)
        if m:
            args = {int(n): int(v, 16) for n, v in _ARG.findall(m[1])}
            if all(i in args for i in range(1, 6)):
                found = Bugcheck(code=args[1], params=(args[2], args[3], args[4], args[5]))
    return found


def state_crash(state: int, reason: int, hyperv: Bugcheck | None) -> Detection | None:
    """A crash the hypervisor reports through the domain state, or None."""
    crashed = state == _CRASHED or (state == _PAUSED and reason == _PAUSED_CRASHED)
    if not crashed:
        return None
    if hyperv is not None:
        return Detection(
            detected_by="hyperv",
            bugcheck=hyperv,
            summary=f"the guest bug-checked: 0x{hyperv.code:X} ("
            + ", ".join(f"0x{p:X}" for p in hyperv.params)
            + ")",
        )
    return Detection(detected_by="pvpanic", summary="the guest kernel panicked (pvpanic)")


def console_crash(text: str) -> Detection | None:
    """A crash the console shows (`text`: what the guest printed during the scenario)."""
    found = _CONSOLE.search(text)
    if found is None:
        return None
    line = text[text.rfind("\n", 0, found.start()) + 1 :].split("\n", 1)[0].strip()
    return Detection(detected_by="console", summary=f"the guest console shows a crash: {line}")


def crash_dir(out: Path, scenario: str, repetition: int) -> Path:
    """OUT/crashes/<case-id>-r<rep>, the case id made safe as a file name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", scenario).strip("_") or "scenario"
    return out / "crashes" / f"{safe}-r{repetition}"


def write_capture(directory: Path, info: CrashInfo, console: str, records: list[Record]) -> None:
    """crash.json, console.log and trace-tail.jsonl (the dump is written by the caller, into
    the same directory, because only it holds the machine)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "crash.json").write_bytes(msgspec.json.format(msgspec.json.encode(info)))
    (directory / "console.log").write_text(console[-TAIL_BYTES:])
    header = Header(format=FORMAT_VERSION, source="hsprobe", scenario=info.scenario)
    with (directory / "trace-tail.jsonl").open("wb") as f:
        jsonl.write_trace(f, header, records[-TRACE_TAIL:])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
