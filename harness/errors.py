"""The harness's exception tree: every failure has a class, and the CLI maps each to a verdict.

    HarnessError                    anything the harness reports without a traceback
    ├── ConfigError                 a config file, target spec or CLI argument is wrong
    ├── InputError                  a trace, dump or driver image given to us is malformed
    ├── BackendUnavailableError     an optional backend is not installed or not implemented
    ├── InfrastructureError         the harness, a VM, the network or a host failed
    │   ├── DebuggerError           a debugger connection or protocol failed
    │   └── HarnessTimeoutError     an operation did not finish in its time limit
    ├── GuestBootError              a guest never reached its ready marker
    ├── GuestCrashError             a guest bug-checked (goes to triage)
    ├── NotApplicableError          the feature under test is absent on this target
    └── ContractViolationError      the kernel broke the DriverProxy contract (product bug)

Messages are one sentence naming what was wrong and, where a person can act, how to fix it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendUnavailableError",
    "ConfigError",
    "ContractViolationError",
    "DebuggerError",
    "GuestBootError",
    "GuestCrashError",
    "HarnessError",
    "HarnessTimeoutError",
    "InfrastructureError",
    "InputError",
    "NotApplicableError",
]


class HarnessError(Exception):
    """Base of every error the harness reports as a message rather than a traceback."""

    #: process exit code the CLI uses for this class of failure
    exit_code = 2


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

    exit_code = 3


class DebuggerError(InfrastructureError):
    """A debugger connection or protocol exchange failed."""


class HarnessTimeoutError(InfrastructureError):
    """An operation did not complete within its time limit."""


class GuestBootError(InfrastructureError):
    """A guest did not reach its ready marker."""


class GuestCrashError(HarnessError):
    """The guest bug-checked; carries what is known of the crash for triage."""

    exit_code = 4

    def __init__(self, message: str, *, bugcheck: int | None = None, detail: Any = None):
        super().__init__(message)
        self.bugcheck = bugcheck
        self.detail = detail


class NotApplicableError(HarnessError):
    """The feature a scenario needs is absent on this target (recorded, not failed)."""

    exit_code = 0


class ContractViolationError(HarnessError):
    """The kernel broke the DriverProxy contract; carries the violations found."""

    exit_code = 1

    def __init__(self, message: str, violations: Any = ()):
        super().__init__(message)
        self.violations = list(violations)
