"""Linux console reports (oops, BUG, WARNING, hung task, panic) parsed into a `Crash`.

The first report in the log is the crash; what follows it (the panic an oops leads to, a
second oops) is a consequence. Its kind and the guilty frame make the title, syzkaller
style: `BUG: kernel NULL pointer dereference in hscrash!hscrash_routine`. Pure: text in,
Crash out; a log without a report is `Unanalysable`.
"""

from __future__ import annotations

import re

from harness.triage.model import Crash, Frame, Unanalysable
from harness.triage.signature import guilty, parse_linux_frame, scrub

__all__ = ["parse_console"]

# (pattern, kind): the first line matching any of these starts the report. A kind with a
# group is completed from it, scrubbed of numbers and addresses.
_STARTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"BUG: kernel NULL pointer dereference", "BUG: kernel NULL pointer dereference"),
        (
            r"BUG: unable to handle (?:page fault|kernel paging request)",
            "BUG: unable to handle page fault",
        ),
        (
            r"BUG: (soft lockup|scheduling while atomic|sleeping function called from invalid "
            r"context|spinlock \w+|KASAN: [\w-]+|KFENCE: [\w-]+|workqueue lockup)",
            "BUG: {}",
        ),
        (r"kernel BUG at ", "kernel BUG"),
        (
            r"(?:general protection fault|divide error|invalid opcode|stack segment|"
            r"double fault)(?=:| )",
            "{0}",
        ),
        (r"INFO: task .+ blocked for more than \d+ seconds", "INFO: task hung"),
        (
            r"INFO: rcu_\w+ (?:self-)?detected (?:stall|expedited stalls)",
            "INFO: rcu detected stall",
        ),
        (r"WARNING: CPU: \d+ PID: \d+ at ", "WARNING"),
        (r"UBSAN: ([\w-]+(?: [\w-]+)*) in ", "UBSAN: {}"),
        (r"Kernel panic - not syncing: (.*)", "Kernel panic - not syncing: {}"),
    )
)
_PREFIX = re.compile(r"^(?:<\d+>)?(?:\[\s*\d+\.\d+\]\s?)?(?:\[\s*[TC]\d+\]\s?)?")
_END = re.compile(r"---\[ end (?:trace|Kernel panic)")
_RIP = re.compile(r"^RIP: 0010:(.*)")
_CPU = re.compile(
    r"^CPU: \d+ PID: \d+ Comm: (\S+)(?: (Not tainted|Tainted: [^ ]+(?: +[A-Z]+)?))?"
    r"\s+(\S+) #"
)
#: longest report kept (lines): an oops with registers and a trace is ~60
_REPORT_LINES = 160


def _lines(text: str) -> list[str]:
    return [_PREFIX.sub("", line.rstrip("\r")) for line in text.splitlines()]


def _start(lines: list[str]) -> tuple[int, str] | None:
    for index, line in enumerate(lines):
        for pattern, kind in _STARTS:
            found = pattern.search(line)
            if found:
                if "{" in kind:
                    group = found[1] if found.groups() else found[0]
                    kind = kind.format(scrub(group).rstrip(". ") if group else found[0])
                return index, kind
    return None


def _report(lines: list[str], start: int) -> list[str]:
    out = []
    for line in lines[start : start + _REPORT_LINES]:
        out.append(line)
        if _END.search(line):
            break
    return out


def _frames(report: list[str]) -> tuple[Frame | None, list[Frame]]:
    """The faulting instruction (kernel RIP) and the reliable frames of the first trace."""
    rip: Frame | None = None
    trace: list[Frame] = []
    in_trace = False
    for line in report:
        found = _RIP.match(line)
        if found and rip is None:
            parsed = parse_linux_frame(found[1])
            rip = (
                Frame(
                    module=parsed.module, symbol=parsed.symbol, offset=parsed.offset, how="context"
                )
                if parsed
                else None
            )
        if line.startswith("Call Trace:"):
            if trace:
                break  # a second trace belongs to a consequence (the panic)
            in_trace = True
            continue
        if in_trace:
            frame = parse_linux_frame(line)
            if frame is not None and frame.how == "unwound":
                trace.append(frame)
            elif line.startswith("RIP: 0033") or _END.search(line):
                in_trace = False
    return rip, trace


def parse_console(text: str) -> Crash:
    """The crash reported in a console log; Unanalysable when it holds no report."""
    lines = _lines(text)
    begun = _start(lines)
    if begun is None:
        raise Unanalysable(
            f"no oops, BUG, WARNING or panic in the console log ({len(lines)} lines)"
        )
    start, kind = begun
    report = _report(lines, start)
    rip, trace = _frames(report)
    frames = ([rip] if rip else []) + trace
    fault = guilty(frames, "linux")
    details = {"report": "\n".join(report)}
    for line in report:
        cpu = _CPU.match(line)
        if cpu:
            details.update(comm=cpu[1], kernel=cpu[3])
            if cpu[2]:
                details["tainted"] = cpu[2]
            break
    corrupted = None
    if fault is None:
        corrupted = "no kernel RIP or call trace in the report (console cut short?)"
    elif not any(_END.search(line) for line in report):
        corrupted = "the report has no end marker (console cut short?)"
    return Crash(
        platform="linux",
        kind=kind,
        fault=fault.point if fault else None,
        frames=tuple(frames[:12]),
        corrupted=corrupted,
        details=details,
    )
