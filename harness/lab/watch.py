"""`CrashWatch`: tells a crashed guest from a hung one from a broken channel, for one
scenario, and leaves the crash capture behind (harness.lab.crash has the layout).

`check()` is cheap (one libvirt state call, a read of the console's new bytes) and runs
after every action; `diagnose()` runs when the channel failed and always returns a verdict.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from harness.contract.trace import Record
from harness.errors import HarnessError
from harness.lab import crash
from harness.lab.machine import LabMachine, Prepared

__all__ = ["CrashWatch"]

log = logging.getLogger(__name__)


class CrashWatch:
    """Watches one machine from a scenario's start."""

    def __init__(self, lab: LabMachine) -> None:
        self.lab = lab
        self.console_mark = lab.machine.console.mark()
        self.log_mark = _size(lab.machine.domain_log)

    def check(self) -> crash.Detection | None:
        """A crash the hypervisor or the console shows, or None."""
        state, reason = self.lab.machine.domain_state()
        hyperv = crash.parse_hyperv_panic(_read(self.lab.machine.domain_log, self.log_mark))
        return crash.state_crash(state, reason, hyperv) or crash.console_crash(self.console())

    def diagnose(self, failure: HarnessError) -> crash.Detection:
        """Why the channel failed: a crash if one shows, else an unresponsive guest."""
        try:
            found = self.check()
        except HarnessError as e:  # libvirt itself failed: the machine is gone
            return crash.Detection(detected_by="unresponsive",
                                   summary=f"{failure}; the hypervisor fails too: {e}")
        if found is not None:
            return found
        return crash.Detection(detected_by="unresponsive",
                               summary=f"the guest stopped answering: {failure}")

    def console(self) -> str:
        return str(self.lab.machine.console.text(self.console_mark))

    def capture(self, detection: crash.Detection, *, out: Path, scenario: str, repetition: int,
                prepared: Prepared, records: list[Record]) -> Path:
        """Write the crash directory (dump included when the hypervisor can take one)."""
        directory = crash.crash_dir(out, scenario, repetition)
        info = crash.CrashInfo(
            scenario=scenario, repetition=repetition, machine=self.lab.name,
            profile=self.lab.profile.name, detected_by=detection.detected_by, time=crash.now(),
            bugcheck=detection.bugcheck, guest_build=prepared.guest_build,
            driver=dict(prepared.driver))
        crash.write_capture(directory, info, self.console(), records)
        windows = self.lab.profile.name == "windows"
        target = directory / ("memory.dmp" if windows else "memory.elf")
        try:
            written = self.lab.machine.dump(target, "auto" if windows else "elf")
            if written == "elf" and windows:
                target.rename(directory / "memory.elf")
        except HarnessError as e:  # no dump is a loss, not a reason to lose the rest
            log.warning("%s: no memory dump: %s", self.lab.name, e)
            (directory / "dump-error.txt").write_text(f"{e}\n")
        return directory


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read(path: Path, since: int) -> str:
    with contextlib.suppress(OSError), path.open("rb") as f:
        f.seek(since)
        return f.read().decode("utf-8", "replace")
    return ""
