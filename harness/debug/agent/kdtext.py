"""Parsers for the text of KD commands the agent runs: `!irql`, `!thread` and `.lastevent`.
Formats as documented on learn.microsoft.com (debuggercmds/-irql, -thread, -lastevent).

Standard library only and Python 3.8 syntax: the agent ships this module.
"""

from __future__ import annotations

import re

__all__ = ["KdTextError", "parse_irql", "parse_lastevent", "parse_thread"]

# Debugger saved IRQL for processor 0x0 -- 0 (LOW_LEVEL)
_IRQL = re.compile(
    r"Debugger saved IRQL for processor (0x[0-9a-fA-F]+|\d+) -- (\d+)\s*(?:\((\w+)\))?"
)
# THREAD ffffcb088f0a4480  Cid 0e34.3814  Teb: 0000001a27ca6000 ...
_THREAD = re.compile(
    r"THREAD\s+([0-9a-fA-F`]+)\s+Cid\s+([0-9a-fA-F]+)\.([0-9a-fA-F]+)"
    r"(?:.*?(RUNNING on processor (\d+)|WAIT|READY|TERMINATED|STANDBY))?"
)
# Last event: Hit breakpoint 0 | Last event: 4c4.1a94: Break instruction exception - code ...
_LAST = re.compile(r"^Last event:\s*(?:([0-9a-fA-F]+)\.([0-9a-fA-F]+):\s*)?(.*?)\s*$", re.M)
_BREAKPOINT = re.compile(r"Hit breakpoint (\d+)")
_CODE = re.compile(r"code ([0-9a-fA-F]{8})")


class KdTextError(ValueError):
    """Debugger output that does not have the expected shape; carries the text."""

    def __init__(self, what: str, text: str) -> None:
        excerpt = " | ".join(text.strip().splitlines()[:3])[:200]
        super().__init__(f"cannot parse {what} output: {excerpt!r}")


def _hex(text: str) -> int:
    return int(text.replace("`", ""), 16)


def parse_irql(text: str) -> dict[str, int | str]:
    """{"processor", "irql", "name"} from `!irql` (the IRQL saved at the break)."""
    match = _IRQL.search(text)
    if not match:
        raise KdTextError("!irql", text)
    return {
        "processor": int(match.group(1), 0),
        "irql": int(match.group(2)),
        "name": match.group(3) or "",
    }


def parse_thread(text: str) -> dict[str, int | None]:
    """{"object", "process_id", "thread_id", "processor"} from `!thread` (first THREAD line)."""
    match = _THREAD.search(text)
    if not match:
        raise KdTextError("!thread", text)
    processor = match.group(5)
    return {
        "object": _hex(match.group(1)),
        "process_id": int(match.group(2), 16),
        "thread_id": int(match.group(3), 16),
        "processor": int(processor) if processor is not None else None,
    }


def parse_lastevent(text: str) -> dict[str, int | str | None]:
    """{"kind", "breakpoint", "code", "description"} from `.lastevent`; kind is breakpoint,
    break (a break-in or int 3), exception, or other."""
    match = _LAST.search(text)
    if not match:
        raise KdTextError(".lastevent", text)
    description = match.group(3)
    bp = _BREAKPOINT.search(description)
    code = _CODE.search(description)
    if bp:
        kind = "breakpoint"
    elif code and code.group(1).lower() == "80000003":
        kind = "break"
    elif code or "exception" in description.lower():
        kind = "exception"
    else:
        kind = "other"
    return {
        "kind": kind,
        "breakpoint": int(bp.group(1)) if bp else None,
        "code": int(code.group(1), 16) if code else None,
        "description": description,
    }
