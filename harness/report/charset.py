"""Which characters a report may carry: `printable` makes any text safe for XML 1.0 and terminals.

Scenario messages and trace excerpts come from guests and drivers, so they can hold NUL,
escape sequences or lone surrogates. XML 1.0 forbids most C0 controls outright (a parser
rejects the whole file), and an ESC reaching a terminal can rewrite the screen. We replace
them with a visible `\\xNN` / `\\uNNNN` escape rather than drop them, so nothing is hidden
from whoever reads the report.
"""

from __future__ import annotations

import re

__all__ = ["one_line", "printable"]

# Everything XML 1.0 does not allow, plus DEL and the C1 controls, which terminals interpret.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return `text` with every forbidden character replaced by a visible escape."""
    return _FORBIDDEN.sub(_escape, text)


def one_line(text: str, limit: int = 0) -> str:
    """`printable(text)` folded onto one line, cut to `limit` characters when `limit` > 0."""
    flat = " ".join(printable(text).split())
    if limit and len(flat) > limit:
        return flat[: max(limit - 1, 0)] + "…"
    return flat
