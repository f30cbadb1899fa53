"""QEMU's human monitor (HMP) through libvirt's passthrough: the in-process path for
snapshots (savevm/loadvm without restarting QEMU) and for opening the gdbstub on a running
domain. HMP reports failure as text, not as an error: that text is checked here."""

from __future__ import annotations

import importlib
import re
from typing import Any

from harness.errors import InfrastructureError
from harness.vm.bounded import call_on
from harness.vm.connection import libvirt_errors

__all__ = ["hmp"]

# HMP answers a failed command with a line like these, on an otherwise successful exchange.
_FAILURE = re.compile(
    r"^(Error|error|Could not|could not|Failed|failed|Unknown|unknown command)"
    r"|: (No such|Invalid|invalid)",
    re.MULTILINE,
)


def hmp(domain: Any, command: str, name: str) -> str:
    """Run HMP `command` on `domain`; its output, or InfrastructureError naming `name`."""
    libvirt_qemu = importlib.import_module("libvirt_qemu")
    flag = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
    with libvirt_errors(f"{name}: monitor command {command!r} failed"):
        out: str = call_on(
            domain, f"monitor {command}", libvirt_qemu.qemuMonitorCommand, domain, command, flag
        )
    if _FAILURE.search(out):
        raise InfrastructureError(f"{name}: monitor command {command!r} failed: {out.strip()}")
    return out
