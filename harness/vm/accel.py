"""Chooses the accelerator: KVM where it exists and is fast, TCG otherwise, by a quick probe.

The probe runs SeaBIOS to "No bootable device" under TCG, then under KVM with a deadline of a
few times TCG's figure. /dev/kvm can exist and still be unusably slow (nested virtualisation
without hardware help: measured here at 4.4 s under KVM against 0.12 s under TCG), so its
presence alone decides nothing.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["choose_accel", "probe_seconds"]

_MARKER = b"No bootable device"
_QEMU = "qemu-system-x86_64"


def probe_seconds(accel: str, deadline: float) -> float | None:
    """Seconds QEMU's BIOS takes to give up booting under `accel`; None past `deadline`."""
    qemu = shutil.which(_QEMU)
    if qemu is None:
        return None
    with tempfile.TemporaryDirectory(prefix="hs-accel-") as tmp:
        log = Path(tmp) / "debugcon.log"
        cmd = [
            qemu,
            "-nodefaults",
            "-machine",
            "pc",
            "-accel",
            accel,
            "-m",
            "32",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-no-reboot",
            "-debugcon",
            f"file:{log}",
            "-global",
            "isa-debugcon.iobase=0x402",
        ]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.monotonic() - start < deadline:
                if log.exists() and _MARKER in log.read_bytes():
                    return time.monotonic() - start
                if proc.poll() is not None:  # accelerator refused, or QEMU failed
                    return None
                time.sleep(0.01)
            return None
        finally:
            proc.kill()
            proc.wait()


@functools.cache
def choose_accel(requested: str = "auto") -> str:
    """ "kvm" or "tcg": `requested` unless it is "auto", which probes (once per process)."""
    if requested != "auto":
        return requested
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    tcg = probe_seconds("tcg", deadline=10.0) or 10.0
    kvm = probe_seconds("kvm", deadline=max(1.0, 3 * tcg))
    return "kvm" if kvm is not None and kvm <= tcg * 1.5 else "tcg"
