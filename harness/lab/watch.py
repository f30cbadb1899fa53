"""`CrashWatch`: tells a crashed guest from a hung one from a broken channel, for one
scenario, and leaves the crash capture behind (harness.lab.crash has the layout).

`check()` is cheap (one libvirt state call, a read of the console's new bytes) and runs
after every action; `diagnose()` runs when the channel failed and always returns a verdict.

A rack machine has no hypervisor to ask: its console (a panic, a bug-check banner) and a
channel that stops answering are what tell; it has no host-side dump either: the OS's own
(MEMORY.DMP, a kdump vmcore) is fetched over SSH once the machine is back, when its inventory
names where the OS leaves it (`dump_path`).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from harness.contract.trace import Record
from harness.errors import HarnessError, InfrastructureError
from harness.lab import crash
from harness.lab.machine import LabMachine, Prepared
from harness.vm import Dumps

__all__ = ["CrashWatch"]

log = logging.getLogger(__name__)


class CrashWatch:
    """Watches one machine from a scenario's start."""

    def __init__(self, lab: LabMachine) -> None:
        self.lab = lab
        self.console_mark = lab.machine.console.mark()
        #: a hypervisor's domain log and state, where the machine is a VM
        self.hypervisor = hasattr(lab.machine, "domain_state")
        self.log_mark = _size(lab.machine.domain_log) if self.hypervisor else 0

    def check(self) -> crash.Detection | None:
        """A crash the hypervisor or the console shows, or None."""
        if self.hypervisor:
            state, reason = self.lab.machine.domain_state()
            hyperv = crash.parse_hyperv_panic(_read(self.lab.machine.domain_log, self.log_mark))
            found = crash.state_crash(state, reason, hyperv)
            if found is not None:
                return found
        return crash.console_crash(self.console())

    def diagnose(self, failure: HarnessError) -> crash.Detection:
        """Why the channel failed: a crash if one shows, else an unresponsive guest."""
        try:
            found = self.check()
        except HarnessError as e:  # libvirt itself failed: the machine is gone
            return crash.Detection(
                detected_by="unresponsive", summary=f"{failure}; the hypervisor fails too: {e}"
            )
        if found is not None:
            return found
        return crash.Detection(
            detected_by="unresponsive", summary=f"the guest stopped answering: {failure}"
        )

    def console(self) -> str:
        return str(self.lab.machine.console.text(self.console_mark))

    def capture(
        self,
        detection: crash.Detection,
        *,
        out: Path,
        scenario: str,
        repetition: int,
        prepared: Prepared,
        records: list[Record],
    ) -> Path:
        """Write the crash directory (dump included when the hypervisor can take one)."""
        directory = crash.crash_dir(out, scenario, repetition)
        info = crash.CrashInfo(
            scenario=scenario,
            repetition=repetition,
            machine=self.lab.name,
            profile=self.lab.profile.name,
            detected_by=detection.detected_by,
            time=crash.now(),
            bugcheck=detection.bugcheck,
            guest_build=prepared.guest_build,
            driver=dict(prepared.driver),
        )
        crash.write_capture(directory, info, self.console(), records)
        windows = self.lab.profile.name == "windows"
        target = directory / ("memory.dmp" if windows else "memory.elf")
        if not isinstance(self.lab.machine, Dumps):
            why = (
                f"{self.lab.name} is a rack machine: no host-side dump; its own dump is "
                f"fetched from {self.lab.machine.dump_path} after the reboot"
                if getattr(self.lab.machine, "dump_path", None)
                else f"{self.lab.name} takes no host-side dump and its inventory names no "
                "dump_path: the console is the capture"
            )
            (directory / "dump-error.txt").write_text(why + "\n")
            return directory
        try:
            written = self.lab.machine.dump(target, "auto" if windows else "elf")
            if written == "elf" and windows:
                target.rename(directory / "memory.elf")
        except HarnessError as e:  # no dump is a loss, not a reason to lose the rest
            log.warning("%s: no memory dump: %s", self.lab.name, e)
            (directory / "dump-error.txt").write_text(f"{e}\n")
        return directory

    def fetch_guest_dump(self, directory: Path) -> None:
        """The OS's own dump (`dump_path` of a rack machine), fetched over SSH after the
        reboot that followed the crash, into the capture; a failure is written down."""
        remote = getattr(self.lab.machine, "dump_path", None)
        if not remote:
            return
        name = "memory.dmp" if self.lab.profile.name == "windows" else "memory.elf"
        channel = self.lab.channel
        try:
            if channel is None:
                raise InfrastructureError(f"{self.lab.name} has no channel after its reboot")
            channel.get(self.lab.profile.sftp_path(remote), directory / name)
            (directory / "dump-error.txt").unlink(missing_ok=True)
        except HarnessError as e:
            (directory / "dump-error.txt").write_text(f"fetching {remote}: {e}\n")


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
