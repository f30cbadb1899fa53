"""WinDbg `!analyze -v` text parsed into fields and a `Crash`.

The output is a heading (`DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)`), the arguments, then
`NAME:  value` fields, STACK_TEXT spanning lines up to a blank one. The fields used:
BUGCHECK_CODE and BUGCHECK_P1..P4 (WinDbg 10.0.19041 and later), BUGCHECK_STR (earlier
versions, as a fallback), MODULE_NAME, IMAGE_NAME, SYMBOL_NAME, FAILURE_BUCKET_ID,
STACK_TEXT. Output that carries no bug check at all is `Unanalysable`. Pure: text in.
"""

from __future__ import annotations

import re

from harness.triage.bugchecks import describe
from harness.triage.model import Crash, Frame, Unanalysable
from harness.triage.signature import guilty, parse_windows_frame

__all__ = ["FIELDS", "parse_analyze", "parse_fields"]

FIELDS = (
    "BUGCHECK_CODE",
    "MODULE_NAME",
    "IMAGE_NAME",
    "SYMBOL_NAME",
    "FAILURE_BUCKET_ID",
    "STACK_TEXT",
)
_FIELD = re.compile(r"^([A-Z][A-Z0-9_]{2,}):[ \t]*(.*)$")
_HEADING = re.compile(r"^([A-Z][A-Z0-9_]+) \(([0-9a-fA-F]+)\)\s*$")
_ARG = re.compile(r"^Arg([1-4]): ([0-9a-fA-F`]+)")
_HEX = re.compile(r"^(?:0x)?([0-9a-fA-F`]+)$")


def _hex(text: str) -> int | None:
    found = _HEX.match(text.strip().split()[0]) if text.strip() else None
    return int(found[1].replace("`", ""), 16) if found else None


def parse_fields(text: str) -> dict[str, str]:
    """Every `NAME: value` field; a value that spans lines (STACK_TEXT) keeps its lines."""
    fields: dict[str, str] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        found = _FIELD.match(line)
        if found:
            current = found[1]
            fields.setdefault(current, found[2].strip())
            continue
        if not line.strip():
            current = None
        elif current is not None and current in fields:
            fields[current] = (fields[current] + "\n" + line.strip()).strip()
    return fields


def _heading(text: str) -> tuple[str | None, int | None, list[int]]:
    name, code, args = None, None, [0, 0, 0, 0]
    for line in text.splitlines():
        found = _HEADING.match(line.strip())
        if found and code is None:
            name, code = found[1], int(found[2], 16)
        arg = _ARG.match(line.strip())
        if arg:
            args[int(arg[1]) - 1] = int(arg[2].replace("`", ""), 16)
    return name, code, args


def _stack(value: str) -> list[Frame]:
    frames = []
    for line in value.splitlines():
        # child-SP retaddr : args : call site   (the call site is after the last colon)
        where = line.rsplit(" : ", 1)[-1].strip()
        frame = parse_windows_frame(where)
        if frame is not None:
            frames.append(frame)
    return frames


def _code(fields: dict[str, str], heading: int | None) -> int | None:
    if "BUGCHECK_CODE" in fields:
        return _hex(fields["BUGCHECK_CODE"])
    if heading is not None:
        return heading
    legacy = re.match(r"(?:0x)?([0-9a-fA-F]+)", fields.get("BUGCHECK_STR", ""))
    return int(legacy[1], 16) if legacy else None


def parse_analyze(text: str) -> Crash:
    """The crash `!analyze -v` describes; Unanalysable when it describes no bug check."""
    fields = parse_fields(text)
    name, heading, args = _heading(text)
    code = _code(fields, heading)
    if code is None:
        hint = (
            "user-mode analysis (EXCEPTION_CODE_STR), not a kernel bug check"
            if "EXCEPTION_CODE_STR" in fields or "EXCEPTION_RECORD" in fields
            else "no BUGCHECK_CODE, BUGCHECK_STR or bug-check heading: not !analyze -v "
            "kernel output, or a debugger version whose format is not known here"
        )
        raise Unanalysable(f"!analyze output: {hint}")
    params = [
        (_hex(fields[f"BUGCHECK_P{i}"]) or 0) if f"BUGCHECK_P{i}" in fields else args[i - 1]
        for i in range(1, 5)
    ]
    frames = _stack(fields.get("STACK_TEXT", ""))
    # SYMBOL_NAME writes its offset in hex without 0x: hsprobe!HsWorkerRoutine+34
    symbol = (
        parse_windows_frame(re.sub(r"\+(?!0x)", "+0x", fields["SYMBOL_NAME"], count=1))
        if fields.get("SYMBOL_NAME")
        else None
    )
    fault = symbol or guilty(frames, "windows")
    if fault is None and fields.get("MODULE_NAME"):
        fault = Frame(module=fields["MODULE_NAME"].lower())
    corrupted = None
    if fault is None:
        corrupted = "!analyze named no faulting symbol, module or stack"
    elif fault.symbol is None:
        corrupted = f"no symbols for {fault.module}: bucketed by module only"
    details = {
        k.lower(): v
        for k, v in fields.items()
        if k
        in (
            "MODULE_NAME",
            "IMAGE_NAME",
            "SYMBOL_NAME",
            "PROCESS_NAME",
            "OS_VERSION",
            "STACK_TEXT",
            "BUGCHECK_STR",
            "DEFAULT_BUCKET_ID",
        )
    }
    return Crash(
        platform="windows",
        kind=describe(code, name),
        bugcheck=code,
        params=tuple(params),
        fault=fault.point if fault else None,
        frames=tuple(frames[:12]),
        failure_bucket=fields.get("FAILURE_BUCKET_ID"),
        corrupted=corrupted,
        details=details,
    )
