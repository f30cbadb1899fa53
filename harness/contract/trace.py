"""The trace record model: what a target (simulator or the hsprobe driver) reports happened.

A trace is a header followed by records in `seq` order. Times `t` are in 100 ns units of
system time (the epoch is 1601-01-01, as KeQuerySystemTimePrecise gives it), so absolute
timeouts compare directly with `t`. The JSON Lines form of each record is its fields plus
`"kind"`; see harness/contract/jsonl.py and docs/trace-format.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec

from harness.contract.convention import Convention
from harness.contract.startctx import StartContext

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


class Expectations(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the run expects of the kernel; the checker judges the trace against these."""

    convention: Convention | None = None
    """Return-value convention the kernel should implement; None: measure, do not judge."""
    max_events: int = 64
    """Largest EventCount the create call should accept (default MAXIMUM_WAIT_OBJECTS)."""


class Header(msgspec.Struct, frozen=True, kw_only=True, tag="header", tag_field="kind"):
    """First line of every trace file."""

    format: int
    expectations: Expectations = Expectations()
    source: str = "unknown"
    """Who recorded it: sim, hsprobe, hand-written..."""
    scenario: str | None = None
    seed: int | None = None


class _Base(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    seq: int
    """Strictly increasing record number."""
    t: int
    """System time in 100 ns units."""
    it: int | None = None
    """Interrupt time in 100 ns units (KeQueryInterruptTimePrecise; on the Linux stand-in a
    monotonic clock): the clock relative timeouts run on, which clock adjustments do not move.
    None when the recorder has no such clock."""


class Probe(_Base, frozen=True, kw_only=True, tag="probe"):
    """Result of the feature probe (IoGetDriverProxyFeatures, IoCreateDriverProxyExtension)."""

    enabled: bool
    extension_status: int
    flags: int = 0
    exports: bool = True
    """The kernel exports the DriverProxy routines (resolved at run time); False on kernels
    that predate them (Windows 10, Windows 11 before 24H2), where the feature is absent."""


class Create(_Base, frozen=True, kw_only=True, tag="create"):
    """A create call: its context, status and, when it succeeded, the new thread."""

    status: int
    context: StartContext
    worker: int | None = None
    thread: int | None = None
    thread_object: int | None = None
    fallback: bool = False
    """The driver ran the routine on its own PsCreateSystemThread loop because the feature is
    unavailable (status is then the create call's status, not an error of the fallback)."""


class Wait(_Base, frozen=True, kw_only=True, tag="wait"):
    """The worker thread starts waiting on its events."""

    worker: int
    thread: int


class Signal(_Base, frozen=True, kw_only=True, tag="signal"):
    """The test signalled event `event` of the worker's start context."""

    worker: int
    event: int


class Alert(_Base, frozen=True, kw_only=True, tag="alert"):
    """The test alerted the worker thread (or queued it a user APC)."""

    worker: int
    user_apc: bool = False


class Enter(_Base, frozen=True, kw_only=True, tag="enter"):
    """The routine was entered: on which thread, at which IRQL, with which WaitStatus."""

    worker: int
    thread: int
    thread_object: int
    irql: int
    wait_status: int
    version: int
    endpoint: int = 1


class Exit(_Base, frozen=True, kw_only=True, tag="exit"):
    """The routine returned `returned`, at IRQL `irql`."""

    worker: int
    thread: int
    irql: int
    returned: bool
    version: int


class ThreadExit(_Base, frozen=True, kw_only=True, tag="thread_exit"):
    """The worker thread ended."""

    worker: int
    thread: int
    status: int = 0


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

    swap: int
    phase: SwapPhase
    from_version: int
    to_version: int
    endpoints: tuple[int, ...] = ()
    status: int | None = None


class Unload(_Base, frozen=True, kw_only=True, tag="unload"):
    """The driver image `version` unloaded, with how many workers were still alive before."""

    version: int
    live_workers: int = 0


class Mark(_Base, frozen=True, kw_only=True, tag="mark"):
    """A free-text milestone the scenario wrote; the checker ignores it."""

    label: str


Record = Probe | Create | Wait | Signal | Alert | Enter | Exit | ThreadExit | Swap | Unload | Mark
