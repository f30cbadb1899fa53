"""What a scenario asks a target to do, as data: every target translates these the same way.

The lab target turns each action into an hsprobectl IOCTL in the guest; the simulator
applies it to its kernel model. Blocking actions (a swap that must drain a call held in
flight) return STATUS_PENDING when asked not to wait; their completion shows in the trace.
"""

from __future__ import annotations

from typing import Final

import msgspec

from harness.contract.startctx import StartContext

__all__ = [
    "ROUTINE_EXPORT",
    "Action",
    "Alert",
    "Behaviour",
    "CreateWorker",
    "Gate",
    "Mark",
    "Outcome",
    "Signal",
    "Swap",
    "Unload",
    "routine_symbol",
]

#: name under which both hsprobe images export their worker routine (no symbols needed)
ROUTINE_EXPORT: Final = "HspWorkerRoutine"
#: module name of each image version
MODULES: Final = {1: "hsprobe", 2: "hsprobe2"}


def routine_symbol(version: int) -> str:
    """`module!export` a debugger breaks on to stop in image `version`'s worker routine."""
    return f"{MODULES[version]}!{ROUTINE_EXPORT}"


class Behaviour(msgspec.Struct, frozen=True, kw_only=True):
    """What the test driver's routine does when called."""

    returns: bool = True
    """The BOOLEAN returned by default."""
    returns_on: tuple[tuple[int, bool], ...] = ()
    """(WaitStatus, BOOLEAN) overrides, e.g. ((STATUS_WAIT_1, end_value),)."""
    busy: int = 0
    """Time the routine spends per call, 100 ns units."""
    gated: bool = False
    """The routine blocks on the driver's gate until it is opened."""

    def value_for(self, wait_status: int) -> bool:
        for status, value in self.returns_on:
            if status == wait_status:
                return value
        return self.returns


class CreateWorker(msgspec.Struct, frozen=True, kw_only=True, tag="create"):
    """IoDriverProxyCreateHotSwappableWorkerThread with `context`; the worker id comes back."""

    context: StartContext
    behaviour: Behaviour = Behaviour()
    endpoint: int = 1
    """Which registered endpoint (by Id) the worker routine is."""
    free_context: bool = True
    """Free the start context right after the create call (ACPI.sys does)."""


class Signal(msgspec.Struct, frozen=True, tag="signal"):
    """KeSetEvent on event `event` of `worker`'s start context."""

    worker: int
    event: int


class Alert(msgspec.Struct, frozen=True, tag="alert"):
    """Alert the worker thread, or queue it a user APC."""

    worker: int
    user_apc: bool = False


class Gate(msgspec.Struct, frozen=True, tag="gate"):
    """Close (calls block in the routine) or open the driver's gate."""

    closed: bool


class Swap(msgspec.Struct, frozen=True, kw_only=True, tag="swap"):
    """Swap to image `to_version` by re-registering the endpoint ids (V1)."""

    to_version: int
    fail_phase: str | None = None
    """Make the driver's phase callback fail in this phase (pre, stall, post): rollback."""
    parameter_mismatch: bool = False
    """Re-register one id with a different ParameterCount (INVALID_PARAMETER_3)."""
    wait: bool = True
    """Wait for the swap to finish; otherwise return STATUS_PENDING at once."""


class Unload(msgspec.Struct, frozen=True, tag="unload"):
    """Unload the driver with whatever workers are alive."""


class Mark(msgspec.Struct, frozen=True, tag="mark"):
    """Write a free-text milestone into the trace (`hsprobectl mark LABEL`): a record that
    shows how far time went, which the checker otherwise ignores."""

    label: str


Action = CreateWorker | Signal | Alert | Gate | Swap | Unload | Mark


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What an action returned: an NTSTATUS and, for CreateWorker, the worker id."""

    status: int
    worker: int | None = None
