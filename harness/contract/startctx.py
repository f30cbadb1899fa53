"""The worker start context (DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT) and its rules.

Fields hold plain integers so that a test can express the invalid inputs the contract must
reject (an unknown WaitType, 65 events); the enums name the valid values.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

import msgspec

from harness.contract import status as st
from harness.contract.clock import MS
from harness.contract.ranges import I64, U8, U32

__all__ = [
    "EventKind",
    "Routine",
    "StartContext",
    "WaitMode",
    "WaitReason",
    "WaitType",
    "allowed_wait_statuses",
    "create_status",
    "relative",
]


class WaitType(IntEnum):
    ALL = 0
    ANY = 1


class WaitMode(IntEnum):
    KERNEL = 0
    USER = 1


class WaitReason(IntEnum):
    EXECUTIVE = 0
    USER_REQUEST = 6


class EventKind(StrEnum):
    """KEVENT type: synchronization resets when a wait is satisfied; notification stays set."""

    SYNC = "sync"
    NOTIFICATION = "notification"


class Routine(StrEnum):
    """What the create call is handed as WorkerRoutine."""

    WRAPPER = "wrapper"  # a registered endpoint wrapper: the only valid choice
    RAW = "raw"  # the raw function, not through the proxy
    NULL = "null"


# Valid WaitReason values are the KWAIT_REASON enumeration, 0..MaximumWaitReason-1.
MAXIMUM_WAIT_REASON = 44


class StartContext(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """One worker's start context; 100 ns units for `timeout` (negative = relative)."""

    events: tuple[EventKind, ...] = (EventKind.SYNC,)
    """Kinds of the events the thread waits on; EventCount is their number (default: one)."""
    wait_type: U32 = WaitType.ANY
    """WaitAll 0 or WaitAny 1 (default WaitAny)."""
    wait_reason: U32 = WaitReason.EXECUTIVE
    """KWAIT_REASON (default Executive)."""
    wait_mode: U8 = WaitMode.KERNEL
    """KernelMode 0 or UserMode 1 (default KernelMode)."""
    alertable: bool = False
    """Alertable wait (default no)."""
    timeout: I64 | None = None
    """None waits forever; <0 relative, >0 absolute system time, 0 polls (100 ns units)."""
    routine: Routine = Routine.WRAPPER
    """What is passed as WorkerRoutine (default: the registered wrapper)."""

    @property
    def event_count(self) -> int:
        return len(self.events)

    @property
    def has_timeout(self) -> bool:
        return self.timeout is not None


def relative(milliseconds: float) -> int:
    """A relative timeout of `milliseconds` in 100 ns units (negative, as the kernel wants)."""
    return -round(milliseconds * MS)


def create_status(ctx: StartContext, *, max_events: int = st.MAXIMUM_WAIT_OBJECTS) -> int | None:
    """The status the create call must return for `ctx`, or None when the context is valid.

    Only parameter validation is decided here; whether the feature is enabled is the
    target's business.
    """
    if ctx.routine is Routine.NULL:
        return st.INVALID_PARAMETER
    # The docs require a registered wrapper; which status a raw pointer gets is not
    # documented. INVALID_PARAMETER is the expectation until a real kernel is measured.
    if ctx.routine is Routine.RAW:
        return st.INVALID_PARAMETER
    if not 1 <= ctx.event_count <= max_events:
        return st.INVALID_PARAMETER
    if ctx.wait_type not in (WaitType.ALL, WaitType.ANY):
        return st.INVALID_PARAMETER
    if ctx.wait_mode not in (WaitMode.KERNEL, WaitMode.USER):
        return st.INVALID_PARAMETER
    if not 0 <= ctx.wait_reason < MAXIMUM_WAIT_REASON:
        return st.INVALID_PARAMETER
    return None


def allowed_wait_statuses(ctx: StartContext) -> frozenset[int]:
    """Every WaitStatus the routine may legitimately be handed for this configuration."""
    allowed: set[int] = set()
    if ctx.wait_type == WaitType.ANY:
        allowed.update(st.wait(i) for i in range(ctx.event_count))
    else:
        allowed.add(st.SUCCESS)
    if ctx.alertable:
        allowed.add(st.ALERTED)
        if ctx.wait_mode == WaitMode.USER:
            allowed.add(st.USER_APC)
    if ctx.has_timeout:
        allowed.add(st.TIMEOUT)
    return frozenset(allowed)
