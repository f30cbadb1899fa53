"""The triage vocabulary: a `Frame` of a crash stack, a `Crash` (one analysed crash with its
signature) and `Unanalysable` (the one verdict for input that cannot be analysed).

A crash's **signature** is what buckets it: the kind (bug-check code and name, or the oops
kind) and the faulting point (module!symbol, offsets and addresses stripped), as syzkaller's
pkg/report titles a Linux report and as WinDbg's FAILURE_BUCKET_ID names a Windows one. The
top frames are kept beside it for people; they are not part of the key, so one bug reached
through two callers is still one bucket.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from harness.errors import InputError

__all__ = ["Crash", "Frame", "Platform", "Unanalysable", "bucket_id"]

Platform = Literal["windows", "linux"]


class Unanalysable(InputError):
    """A dump, console log or debugger output that yields no crash; the message is the reason.

    The verdict line is `unanalysable: <reason>`; the raw file is never touched."""


class Frame(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One stack frame, as far as it is known."""

    module: str | None = None
    """Module name normalised: lower case, no path, no .sys/.ko/.dll suffix."""
    symbol: str | None = None
    """Function name without compiler suffixes (.isra.0, .cold...)."""
    offset: int | None = None
    """Offset into the symbol (or into the module when there is no symbol)."""
    address: int | None = None
    how: str = "unwound"
    """How the frame was found: unwound (a debugger or the kernel printed it), scanned (a
    value on the stack that points into a module: maybe stale), context (the faulting
    instruction pointer itself)."""

    @property
    def point(self) -> str:
        """`module!symbol`, `symbol`, `module` or `?`: the frame with offsets stripped."""
        if self.module and self.symbol:
            return f"{self.module}!{self.symbol}"
        return self.symbol or self.module or "?"

    def __str__(self) -> str:
        text = self.point
        if self.offset is not None and (self.symbol or self.module):
            text += f"+{self.offset:#x}"
        return text


class Crash(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One crash, analysed. Built by the Windows dump, !analyze and Linux oops readers."""

    platform: Platform
    kind: str
    """What happened: `0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL`, `BUG: kernel NULL pointer
    dereference`, `INFO: task hung`..."""
    fault: str | None = None
    """The faulting point, module!symbol normalised (None when it could not be found)."""
    frames: tuple[Frame, ...] = ()
    """Top frames, innermost first."""
    bugcheck: int | None = None
    params: tuple[int, ...] = ()
    corrupted: str | None = None
    """Why the signature may be coarser or wrong (truncated dump, no symbols, report cut
    short); None when the crash was read whole."""
    failure_bucket: str | None = None
    """WinDbg's FAILURE_BUCKET_ID when !analyze ran."""
    details: dict[str, str] = {}
    """What else the readers found (dump type, registers, kernel release...), for people."""

    @property
    def title(self) -> str:
        """The stable one-line name of the bug: the signature in words."""
        return f"{self.kind} in {self.fault}" if self.fault else self.kind

    @property
    def bucket(self) -> str:
        return bucket_id(self.platform, self.title)

    def top(self, n: int = 5) -> list[str]:
        return [str(f) for f in self.frames[:n]]


def bucket_id(platform: str, title: str) -> str:
    """A short, stable id for a signature, safe to paste into a command line."""
    return hashlib.sha256(f"{platform}\0{title}".encode()).hexdigest()[:12]
