"""Debugger engines the agent drives, by name. Each exposes the same verbs: attach(target,
timeout), break_at(symbol) -> id, clear(id), wait_break(timeout) -> {breakpoint, address},
resume(), irql(), thread() -> {id, object}, read(address, size), write(address, data),
command(text) -> str, detach(), analyze(dump) -> the !analyze -v text of a dump file. They
raise DebuggerError and HarnessTimeoutError.

Standard library only and Python 3.8 syntax: the agent ships this module.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.errors import DebuggerError

__all__ = ["ENGINES", "load"]

ENGINES = {
    "gdbstub": "harness.debug.agent.gdbengine:GdbEngine",
    "pykd": "harness.debug.agent.dbgeng:PykdEngine",
    "pybag": "harness.debug.agent.dbgeng:PybagEngine",
}


def load(name: str) -> Any:
    """An engine instance; a missing debugger library is a DebuggerError naming it."""
    if name not in ENGINES:
        raise DebuggerError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module, _, cls = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), cls)()
