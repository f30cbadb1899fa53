"""The harness's exception tree: every failure has a class, and each class carries the exit
status the CLI reports for it (`ExitStatus`, the contract CI relies on).

    HarnessError                    anything the harness reports without a traceback (2)
    ├── ConfigError                 a config file, target spec or CLI argument is wrong (2)
    ├── InputError                  a trace, dump or driver image given to us is malformed (2)
    ├── BackendUnavailableError     an optional backend is not installed or not implemented (2)
    ├── InfrastructureError         the harness, a VM, the network or a host failed (3)
    │   ├── DebuggerError           a debugger connection or protocol failed (3)
    │   ├── HarnessTimeoutError     an operation did not finish in its time limit (3)
    │   └── GuestBootError          a guest never reached its ready marker (3)
    ├── GuestCrashError             a guest bug-checked (goes to triage) (4)
    ├── NotApplicableError          the feature under test is absent on this target (0)
    └── ContractViolationError      the kernel broke the DriverProxy contract (product bug) (1)

Anything else escaping a command is a bug in the harness: the CLI prints one line, writes
the traceback to a log file and exits with `ExitStatus.INTERNAL`.

Messages are one sentence naming what was wrong and, where a person can act, how to fix it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = [
    "BackendUnavailableError",
    "ConfigError",
    "ContractViolationError",
    "DebuggerError",
    "ExitStatus",
    "GuestBootError",
    "GuestCrashError",
    "HarnessError",
    "HarnessTimeoutError",
    "InfrastructureError",
    "InputError",
    "NotApplicableError",
]


class ExitStatus(IntEnum):
    """Exit statuses of every `harness` command: a contract for CI scripts."""

    OK = 0
    """Clean: every check passed (or nothing was asked to be checked)."""
    FAILED = 1
    """The product failed: contract violations, failed cases, failed image checks."""
    BAD_INPUT = 2
    """Bad input or usage: a config, argument, trace, dump or image is wrong; fix and rerun."""
    INFRASTRUCTURE = 3
    """The harness's machinery failed (VM, libvirt, network, debugger, disk): not a verdict."""
    CRASH = 4
    """A guest crashed outside a case's verdict (goes to triage)."""
    INTERNAL = 70
    """A bug in the harness itself (sysexits' EX_SOFTWARE); the traceback is in a log file."""
    INTERRUPTED = 130
    """Stopped by SIGINT (Ctrl-C) or SIGTERM after releasing what it held (128 + SIGINT)."""


class HarnessError(Exception):
    """Base of every error the harness reports as a message rather than a traceback."""

    #: process exit status the CLI uses for this class of failure
    exit_code: int = ExitStatus.BAD_INPUT


class ConfigError(HarnessError):
    """A configuration file, target spec or command-line argument is wrong."""


class InputError(HarnessError):
    """An input file (trace, dump, driver image) is malformed; names the file and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class BackendUnavailableError(HarnessError):
    """An optional backend cannot be used: missing extra, missing tool, or not implemented."""


class InfrastructureError(HarnessError):
    """The harness, a VM, the network or a remote host failed; not a verdict on the kernel."""

    exit_code = ExitStatus.INFRASTRUCTURE


class DebuggerError(InfrastructureError):
    """A debugger connection or protocol exchange failed."""


class HarnessTimeoutError(InfrastructureError):
    """An operation did not complete within its time limit."""


class GuestBootError(InfrastructureError):
    """A guest did not reach its ready marker."""


class GuestCrashError(HarnessError):
    """The guest bug-checked; carries what is known of the crash for triage."""

    exit_code = ExitStatus.CRASH

    def __init__(self, message: str, *, bugcheck: int | None = None, detail: Any = None):
        super().__init__(message)
        self.bugcheck = bugcheck
        self.detail = detail


class NotApplicableError(HarnessError):
    """The feature a scenario needs is absent on this target (recorded, not failed)."""

    exit_code = ExitStatus.OK


class ContractViolationError(HarnessError):
    """The kernel broke the DriverProxy contract; carries the violations found."""

    exit_code = ExitStatus.FAILED

    def __init__(self, message: str, violations: Any = ()):
        super().__init__(message)
        self.violations = list(violations)
