"""A FAKE pykd (the real one runs only on Windows), for tests only: just enough for the
agent's PykdEngine to attach, and errors that echo the connection string the way a real
engine's messages may. HSPROBE_FAKE_PYKD=refuse makes the attach itself fail."""

from __future__ import annotations

import os

_attached: list[str] = []


def attachKernel(target: str) -> None:
    if os.environ.get("HSPROBE_FAKE_PYKD") == "refuse":
        raise RuntimeError(f"fake pykd: cannot attach to {target}")
    _attached.append(target)


def getOffset(symbol: str) -> int:
    raise RuntimeError(f"fake pykd: no symbol {symbol} in session {_attached[-1]}")


def dbgCommand(text: str) -> str:
    raise RuntimeError(f"fake pykd: {text} failed on {_attached[-1]}")
