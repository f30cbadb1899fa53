"""The contract's invariants, one small object each, grouped by subject.

`ALL` lists them in the order their handlers run; `harness.contract.check` drives them.
"""

from __future__ import annotations

from typing import Final

from harness.contract.invariants.base import Invariant, Violation, ViolationLog
from harness.contract.invariants.irql import IrqlRestored, PassiveEntry
from harness.contract.invariants.lifecycle import CreateStatus, Unloading
from harness.contract.invariants.origin import WorkerOrigin
from harness.contract.invariants.phases import SwapPhases
from harness.contract.invariants.swap import (
    SwapAllOrNone,
    SwapParameters,
    SwapStall,
    SwapVersion,
)
from harness.contract.invariants.thread import SameEndpoint, SameThread, ThreadEnd
from harness.contract.invariants.wait import TimeoutEarly, WaitStatus
from harness.contract.invariants.wakeup import LostWakeup, SpuriousWake
from harness.contract.invariants.workers import Workers

__all__ = ["ALL", "Invariant", "Violation", "ViolationLog", "Workers"]

ALL: Final[tuple[type[Invariant], ...]] = (
    PassiveEntry,
    IrqlRestored,
    SameThread,
    SameEndpoint,
    WaitStatus,
    SwapVersion,
    SwapAllOrNone,
    SwapStall,
    SwapPhases,
    SwapParameters,
    ThreadEnd,
    LostWakeup,
    SpuriousWake,
    TimeoutEarly,
    CreateStatus,
    WorkerOrigin,
    Unloading,
)
