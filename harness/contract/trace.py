"""The trace record model: what a target (simulator or the hsprobe driver) reports happened.

A trace is a header followed by records in `seq` order. Every record carries system time `t`
(100 ns units since 1601-01-01, as KeQuerySystemTimePrecise gives it), so absolute timeouts
compare directly with `t`, and may carry interrupt time `it`, the clock relative timeouts run
on. The JSON Lines form of each record is its fields plus `"kind"`; see
harness/contract/jsonl.py and docs/trace-format.md, which lists every field's range.

Ranges are part of the types (msgspec `Meta`), so decoding refuses a value out of range with
the field's path: ids, times and addresses are unsigned 64-bit, NTSTATUS values unsigned
32-bit. Unknown keys are refused everywhere: a misspelt key must not silently turn a check
off.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

import msgspec

from harness.contract.clock import SECOND, TICK
from harness.contract.convention import Convention
from harness.contract.ranges import U8, U32, U63, Address, Text, check_address
from harness.contract.startctx import StartContext
from harness.contract.status import MAXIMUM_WAIT_OBJECTS

__all__ = [
    "FORMAT_VERSION",
    "Alert",
    "Create",
    "Enter",
    "Exit",
    "Expectations",
    "Header",
    "Mark",
    "Probe",
    "Record",
    "Signal",
    "Swap",
    "SwapPhase",
    "ThreadExit",
    "Unload",
    "Wait",
]

FORMAT_VERSION: Final = 1


class Expectations(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """What the run expects of the kernel; the checker judges the trace against these."""

    convention: Convention | None = None
    """Return-value convention the kernel should implement; None: measure, do not judge."""
    max_events: Annotated[int, msgspec.Meta(ge=1, le=MAXIMUM_WAIT_OBJECTS)] = MAXIMUM_WAIT_OBJECTS
    """Largest EventCount the create call should accept (default MAXIMUM_WAIT_OBJECTS, 64)."""
    tick: Annotated[int, msgspec.Meta(ge=0, le=SECOND)] = TICK
    """The kernel's clock tick (default 15.625 ms): a relative timeout may end up to one tick
    before its interval on the precise clock; `timeout-early` allows exactly that."""
    latency: Annotated[int, msgspec.Meta(ge=0, le=3600 * SECOND)] = SECOND
    """Longest delay tolerated between a wake becoming due (an event set, an alert, a timeout)
    and the routine's entry, for wakes that never came by the end of the trace (default 1 s)."""
    clears_notification: bool = True
    """The recorder's routine clears, on entry, the notification events that woke it (the
    rule hsprobe follows, docs/trace-format.md); False: they stay set once set."""


class Header(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag="header",
    tag_field="kind",
    forbid_unknown_fields=True,
):
    """First line of every trace file."""

    format: U32
    expectations: Expectations = Expectations()
    source: Text = "unknown"
    """Who recorded it: sim, hsprobe, hand-written..."""
    scenario: Text | None = None
    seed: U63 | None = None
    partial: bool = False
    """The trace starts mid-run (a crash capture's tail): workers it never created are not
    reported for that."""


class _Base(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", forbid_unknown_fields=True
):
    seq: U63
    """Strictly increasing record number."""
    t: U63
    """System time in 100 ns units."""
    it: U63 | None = None
    """Interrupt time in 100 ns units (KeQueryInterruptTimePrecise; on the Linux stand-in a
    monotonic clock): the clock relative timeouts run on, which clock adjustments do not move.
    None when the recorder has no such clock."""


class Probe(_Base, frozen=True, kw_only=True, tag="probe"):
    """Result of the feature probe (IoGetDriverProxyFeatures, IoCreateDriverProxyExtension)."""

    enabled: bool
    extension_status: U32
    flags: U32 = 0
    exports: bool = True
    """The kernel exports the DriverProxy routines (resolved at run time); False on kernels
    that predate them (Windows 10, Windows 11 before 24H2), where the feature is absent."""


class Create(_Base, frozen=True, kw_only=True, tag="create"):
    """A create call: its context, status and, when it succeeded, the new thread."""

    status: U32
    context: StartContext
    worker: U32 | None = None
    thread: U63 | None = None
    thread_object: Address | None = None
    endpoint: U32 | None = None
    """The endpoint id whose wrapper the create call was handed; None when not recorded."""
    fallback: bool = False
    """The driver ran the routine on its own PsCreateSystemThread loop because the feature is
    unavailable (status is then the create call's status, not an error of the fallback)."""

    def __post_init__(self) -> None:
        check_address(self.thread_object)


class Wait(_Base, frozen=True, kw_only=True, tag="wait"):
    """The worker thread starts waiting on its events."""

    worker: U32
    thread: U63


class Signal(_Base, frozen=True, kw_only=True, tag="signal"):
    """The test signalled event `event` of the worker's start context."""

    worker: U32
    event: U32


class Alert(_Base, frozen=True, kw_only=True, tag="alert"):
    """The test alerted the worker thread (or queued it a user APC)."""

    worker: U32
    user_apc: bool = False


class Enter(_Base, frozen=True, kw_only=True, tag="enter"):
    """The routine was entered: on which thread, at which IRQL, with which WaitStatus."""

    worker: U32
    thread: U63
    thread_object: Address
    irql: U8
    wait_status: U32
    version: U32
    endpoint: U32 = 1

    def __post_init__(self) -> None:
        check_address(self.thread_object)


class Exit(_Base, frozen=True, kw_only=True, tag="exit"):
    """The routine returned `returned`, at IRQL `irql`."""

    worker: U32
    thread: U63
    irql: U8
    returned: bool
    version: U32


class ThreadExit(_Base, frozen=True, kw_only=True, tag="thread_exit"):
    """The worker thread ended."""

    worker: U32
    thread: U63
    status: U32 = 0


class SwapPhase(StrEnum):
    REQUEST = "request"  # re-registration called
    PRE = "pre"  # PreProcess callback ran
    STALL = "stall"  # in-flight calls drained; ProxyStalled callback ran, calls blocked
    SWITCH = "switch"  # endpoint pointers changed
    POST = "post"  # PostProcess callback ran
    ROLLBACK = "rollback"  # the old endpoint set was restored
    DONE = "done"  # the registration call returned `status`


class Swap(_Base, frozen=True, kw_only=True, tag="swap"):
    """One step of a swap (re-registration of endpoint ids), identified by `swap`."""

    swap: U32
    phase: SwapPhase
    from_version: U32
    to_version: U32
    endpoints: tuple[U32, ...] = ()
    status: U32 | None = None
    """done: what the register call returned; pre, stall, post: what the driver's phase
    callback returned (None when not recorded)."""
    parameter_counts: tuple[U32, ...] = ()
    """Request only: the ParameterCount passed for each of `endpoints`, in order."""
    current_counts: tuple[U32, ...] = ()
    """Request only: the ParameterCount each of `endpoints` is registered with now."""


class Unload(_Base, frozen=True, kw_only=True, tag="unload"):
    """The driver image `version` unloaded, with how many workers were still alive before."""

    version: U32
    live_workers: U32 = 0


class Mark(_Base, frozen=True, kw_only=True, tag="mark"):
    """A free-text milestone the scenario wrote; the checker ignores it."""

    label: Text


Record = Probe | Create | Wait | Signal | Alert | Enter | Exit | ThreadExit | Swap | Unload | Mark
