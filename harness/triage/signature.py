"""Normalisation that makes two crashes of one bug compare equal, after syzkaller's pkg/report:
offsets, addresses, numbers and compiler suffixes stripped; generic frames (the bug-check
and oops machinery, the scheduler, thread start-up) skipped when picking the guilty frame.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.triage.model import Frame

__all__ = [
    "clean_symbol",
    "guilty",
    "module_name",
    "parse_linux_frame",
    "parse_windows_frame",
    "scrub",
]

# GCC/Clang clone suffixes: foo.isra.0, foo.constprop.3, foo.part.1, foo.cold, foo.llvm.123
_SUFFIX = re.compile(r"(\.(isra|constprop|part|cold|llvm|lto_priv)(\.\d+)?)+$")
_MODULE_EXT = re.compile(r"\.(sys|ko|dll|exe|efi)$", re.IGNORECASE)

# Linux: [<ffffffff81234567>] ? func.isra.0+0x12/0x40 [module]   (address and ? optional)
_LINUX_FRAME = re.compile(
    r"^\s*(?:\[<?[0-9a-f]+>?\]\s*)?(?P<unsure>\?\s+)?"
    r"(?P<symbol>[A-Za-z_][\w.$]*)\+0x(?P<offset>[0-9a-f]+)/0x[0-9a-f]+"
    r"(?:\s+\[(?P<module>[\w-]+)(?:\s+\w+)?\])?"
)
# Windows: module!symbol+0x12, module+0x1234, or a bare 0xfffff80012345678
_WINDOWS_FRAME = re.compile(
    r"^(?P<module>[\w.-]+?)(?:!(?P<symbol>[\w@?$<>:~.-]+?))?(?:\+0x(?P<offset>[0-9a-fA-F]+))?$"
)

_HEX = re.compile(r"\b(?:0x)?[0-9a-fA-F]{8,}\b|\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"\b\d+\b")

#: frames that say how the kernel reported a crash, not where it happened
_GENERIC_LINUX = re.compile(
    r"^(panic|__warn|warn_slowpath\w*|report_bug|handle_bug|do_trap|do_error_trap|die|__die\w*|"
    r"oops_end|exc_\w+|asm_exc_\w+|page_fault_oops|do_user_addr_fault|\w*bad_area\w*|"
    r"kernelmode_fixup_or_oops|no_context|dump_stack\w*|show_stack|__schedule|schedule\w*|"
    r"io_schedule\w*|msleep\w*|usleep_range\w*|wait_for_completion\w*|\w*mutex_lock\w*|"
    r"down\w*|rwsem_\w+|kthread|ret_from_fork\w*|worker_thread|process_one_work|"
    r"check_hung_\w+|watchdog|hung_task\w*|entry_SYSCALL\w*|do_syscall_64)$"
)
_GENERIC_WINDOWS = re.compile(
    r"^nt!(KeBugCheck\w*|KiBugCheck\w*|Ki\w*Fault\w*|Ki\w*Abort|KiSystemService\w*|"
    r"KiExceptionDispatch|KiDispatchException|RtlDispatchException|KiInvalidOpcodeFault|"
    r"KiStartSystemThread|PspSystemThreadStartup|KiTrap\w*|KxWaitForLockOwnerShip)$",
    re.IGNORECASE,
)


def clean_symbol(name: str) -> str:
    return _SUFFIX.sub("", name)


def module_name(raw: str) -> str:
    """`\\SystemRoot\\System32\\drivers\\HsProbe.sys` -> `hsprobe`."""
    base = re.split(r"[\\/]", raw.strip())[-1]
    return _MODULE_EXT.sub("", base).lower()


def scrub(text: str) -> str:
    """Addresses become ADDR and numbers NUM, so a message differing only in them matches."""
    return _NUMBER.sub("NUM", _HEX.sub("ADDR", text)).strip()


def parse_linux_frame(line: str) -> Frame | None:
    """A frame of a Linux call trace or RIP line; None when the line is not one."""
    found = _LINUX_FRAME.match(line)
    if not found:
        return None
    return Frame(
        module=found["module"],
        symbol=clean_symbol(found["symbol"]),
        offset=int(found["offset"], 16),
        how="scanned" if found["unsure"] else "unwound",
    )


def parse_windows_frame(text: str, how: str = "unwound") -> Frame | None:
    """A frame in WinDbg's notation; None for a bare address or anything else."""
    text = text.strip()
    found = _WINDOWS_FRAME.match(text)
    if not found or re.fullmatch(r"(0x)?[0-9a-fA-F`]+", text):
        return None
    symbol = found["symbol"]
    return Frame(
        module=module_name(found["module"]),
        symbol=clean_symbol(symbol) if symbol else None,
        offset=int(found["offset"], 16) if found["offset"] else None,
        how=how,
    )


def guilty(frames: Iterable[Frame], platform: str) -> Frame | None:
    """The first frame that is not crash-reporting machinery; unsure frames are skipped."""
    generic = _GENERIC_LINUX if platform == "linux" else _GENERIC_WINDOWS
    for frame in frames:
        if frame.how == "scanned":
            continue
        name = frame.symbol if platform == "linux" else frame.point
        if name and generic.match(name):
            continue
        return frame
    return None
