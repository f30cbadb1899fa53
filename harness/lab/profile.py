"""Guest profiles: everything OS-specific about driving hsprobe in a lab guest, as data.

A `GuestProfile` says how a guest's shell reads command lines, where the artifacts live,
which commands load version 1 (with version 2 only made available: loading it is the swap),
how to take everything out again, how the guest names its build, and how to fetch the raw
telemetry. The lab target runs these commands over the guest channel; nothing here does I/O,
so each profile's command lines and output parsing are unit-tested without a guest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from harness.errors import ConfigError
from harness.guest.ssh import CommandResult
from harness.lab.config import DriverConfig, LabConfig

__all__ = ["GuestProfile", "Runner", "Step", "make_profile"]

Runner = Callable[[tuple[str, ...]], CommandResult]
"""Runs one more command in the guest (a profile asks the kernel log why a load failed)."""


class Step(msgspec.Struct, frozen=True):
    """One command of a procedure: its argv, and whether its failure may be ignored."""

    argv: tuple[str, ...]
    what: str
    """What it does, for messages: "load hsproxy"."""
    optional: bool = False
    """A failure is expected in a clean guest (rmmod of a module not loaded)."""


class GuestProfile(Protocol):
    """One guest OS. Command lines are argv lists; the caller quotes them for `shell`."""

    name: str
    shell: str
    guest_dir: str
    #: artifact file name (as the manifest names it) -> path in the guest
    files: dict[str, str]

    @property
    def tool(self) -> str:
        """Path of hsprobectl in the guest."""
        ...

    def command(self, *args: str) -> tuple[str, ...]:
        """The argv running `hsprobectl ARGS` in the guest."""
        ...

    def load(self, driver: DriverConfig) -> list[Step]:
        """Commands that leave version 1 loaded and version 2 available (not loaded)."""
        ...

    def serve(self, port: str) -> Step | None:
        """The command that starts a resident hsprobectl on virtio-serial port `port` unless
        one runs (harness/lab/probe.py); None where hsprobectl has no resident mode."""
        ...

    def mkdir(self) -> Step:
        """Create guest_dir (for driver.install); fails harmlessly when it exists."""
        ...

    def sftp_path(self, remote: str) -> str:
        """`remote` as the guest's SFTP server names it."""
        ...

    def remove(self) -> list[Step]:
        """Commands that unload and forget both images (each may fail harmlessly)."""
        ...

    def check(self, step: Step, status: int, stdout: str, stderr: str, run: Runner) -> str | None:
        """Why a step failed, in one sentence, or None if it did what it says."""
        ...

    def build_command(self) -> tuple[str, ...]:
        """A command printing the guest's kernel build."""
        ...

    def parse_build(self, stdout: str) -> str:
        """The build from build_command's output, e.g. 26100.2033 or 6.1.0-28-cloud-amd64."""
        ...

    def raw_trace(self, from_seq: int) -> tuple[tuple[str, ...], str | None]:
        """(argv, remote file or None): the command writing telemetry from `from_seq` on in
        the raw format, and the file it writes when it cannot write to stdout."""
        ...


def make_profile(config: LabConfig) -> GuestProfile:
    """The profile a lab config names."""
    if config.profile == "linux":
        from harness.lab.linux import LinuxProfile

        return LinuxProfile(config)
    if config.profile == "windows":
        from harness.lab.windows import WindowsProfile

        return WindowsProfile(config)
    raise ConfigError(
        f"{config.source}: field profile: unknown {config.profile!r}; fix: use linux or windows"
    )
