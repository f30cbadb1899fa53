"""Named kernel bugs the simulator can be told to have. The suite must catch every one.

Each mutant is a deliberate departure from the documented contract, of the kind a real
kernel (or a careless reimplementation) could ship. `harness selftest` runs the suite on
each and fails if any survives: a harness that cannot fail is worthless.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MUTANTS", "Mutant", "parse_mutants"]


class Mutant(StrEnum):
    DISPATCH_LEVEL = "dispatch-level"
    SWAP_RECREATES_THREAD = "swap-recreates-thread"
    NO_DRAIN = "no-drain"
    LOST_WAKEUP = "lost-wakeup"
    OLD_ROUTINE_AFTER_SWAP = "old-routine-after-swap"
    RETURN_IGNORED = "return-ignored"
    CONTEXT_NOT_COPIED = "context-not-copied"
    WRONG_WAIT_INDEX = "wrong-wait-index"
    TIMEOUT_NEVER_FIRES = "timeout-never-fires"
    EARLY_TIMEOUT = "early-timeout"
    BAD_PARAMETERS_ACCEPTED = "bad-parameters-accepted"
    NO_ROLLBACK = "no-rollback"
    PHASES_OUT_OF_ORDER = "phases-out-of-order"
    STALL_LEAK = "stall-leak"
    PARTIAL_SWITCH = "partial-switch"
    PARAMETER_MISMATCH_ACCEPTED = "parameter-mismatch-accepted"
    ALERT_IGNORED = "alert-ignored"
    CONVENTION_FLIPPED = "convention-flipped"
    RAW_ROUTINE_ACCEPTED = "raw-routine-accepted"
    IRQL_LEAK = "irql-leak"
    # events and waits
    SYNC_EVENT_NOT_RESET = "sync-event-not-reset"
    WAIT_ALL_RETURNS_INDEX = "wait-all-returns-index"
    WAIT_ALL_ANY = "wait-all-any"
    SET_NEEDS_WAITER = "set-needs-waiter"
    # timers
    TIMEOUT_REPORTS_INDEX = "timeout-reports-index"
    ABSOLUTE_AS_RELATIVE = "absolute-as-relative"
    SLOW_TIMEOUT = "slow-timeout"
    # alerts and APCs
    ALERT_AS_USER_APC = "alert-as-user-apc"
    ALERT_WAKES_UNALERTABLE = "alert-wakes-unalertable"
    ALERT_NOT_CLEARED = "alert-not-cleared"
    # drain and stall
    PARTIAL_DRAIN = "partial-drain"
    EARLY_RELEASE = "early-release"
    DRAIN_TIMEOUT_IGNORED = "drain-timeout-ignored"
    BLOCKED_CALL_LOST = "blocked-call-lost"
    # multi-endpoint swaps
    ENDPOINT_CROSS_WIRED = "endpoint-cross-wired"
    # rollback
    ROLLBACK_REPORTS_SUCCESS = "rollback-reports-success"
    FAILED_CALLBACK_IGNORED = "failed-callback-ignored"
    # thread lifetime
    FAILED_CREATE_RUNS = "failed-create-runs"
    EXITS_AFTER_FIRST_CALL = "exits-after-first-call"
    SWAP_MOVES_THREAD = "swap-moves-thread"
    SILENT_EXIT = "silent-exit"
    CALL_AFTER_EXIT = "call-after-exit"


MUTANTS: dict[Mutant, str] = {
    Mutant.DISPATCH_LEVEL: "the worker routine is called at DISPATCH_LEVEL",
    Mutant.SWAP_RECREATES_THREAD: "a swap ends the worker thread and creates a new one",
    Mutant.NO_DRAIN: "a swap switches endpoints without waiting for calls in flight",
    Mutant.LOST_WAKEUP: "every third signal of a synchronization event during a wait is lost",
    Mutant.OLD_ROUTINE_AFTER_SWAP: "wrappers keep calling the old routine after a swap",
    Mutant.RETURN_IGNORED: "the routine's return value is ignored: the thread never ends",
    Mutant.CONTEXT_NOT_COPIED: "the start context is used in place, not copied (use after free)",
    Mutant.WRONG_WAIT_INDEX: "WaitAny reports the highest signalled index, not the lowest",
    Mutant.TIMEOUT_NEVER_FIRES: "a wait with a timeout waits forever",
    Mutant.EARLY_TIMEOUT: "a relative timeout fires after half its interval",
    Mutant.BAD_PARAMETERS_ACCEPTED: "EventCount 0 or above 64 is accepted",
    Mutant.NO_ROLLBACK: "a failing phase callback does not roll the swap back",
    Mutant.PHASES_OUT_OF_ORDER: "ProxyStalled is reported before PreProcess",
    Mutant.STALL_LEAK: "calls are not blocked while the proxy is stalled",
    Mutant.PARTIAL_SWITCH: "only the first endpoint of a registration is switched",
    Mutant.PARAMETER_MISMATCH_ACCEPTED: "re-registering an id with another ParameterCount succeeds",
    Mutant.ALERT_IGNORED: "an alertable wait is never woken by an alert",
    Mutant.CONVENTION_FLIPPED: "the thread acts on the opposite return-value convention",
    Mutant.RAW_ROUTINE_ACCEPTED: "a raw function (not a registered wrapper) is accepted",
    Mutant.IRQL_LEAK: "the routine is entered at PASSIVE but the wrapper raises IRQL inside",
    Mutant.SYNC_EVENT_NOT_RESET: "satisfying a wait does not reset a synchronization event",
    Mutant.WAIT_ALL_RETURNS_INDEX: "a satisfied WaitAll returns STATUS_WAIT_n, not SUCCESS",
    Mutant.WAIT_ALL_ANY: "a WaitAll is satisfied as soon as any one event is signalled",
    Mutant.SET_NEEDS_WAITER: "KeSetEvent with no thread waiting is lost (pulse semantics)",
    Mutant.TIMEOUT_REPORTS_INDEX: "an expired timeout is reported as STATUS_WAIT_0",
    Mutant.ABSOLUTE_AS_RELATIVE: "an absolute timeout is taken as an interval from now",
    Mutant.SLOW_TIMEOUT: "a relative timeout fires after three times its interval",
    Mutant.ALERT_AS_USER_APC: "an alert ends a kernel-mode alertable wait with USER_APC",
    Mutant.ALERT_WAKES_UNALERTABLE: "an alert ends a wait that is not alertable",
    Mutant.ALERT_NOT_CLEARED: "an alert that ended a wait stays pending and ends the next",
    Mutant.PARTIAL_DRAIN: "a swap drains only the calls in flight on its last endpoint",
    Mutant.EARLY_RELEASE: "calls held by a swap are released after the switch, before PostProcess",
    Mutant.DRAIN_TIMEOUT_IGNORED: "a drain that times out switches anyway, call in flight",
    Mutant.BLOCKED_CALL_LOST: "calls held while a swap stalled are dropped, not released",
    Mutant.ENDPOINT_CROSS_WIRED: "a swap points endpoint 2's wrapper at endpoint 1's function",
    Mutant.ROLLBACK_REPORTS_SUCCESS: "a rolled-back swap returns STATUS_SUCCESS",
    Mutant.FAILED_CALLBACK_IGNORED: "a failing phase callback is ignored: the swap goes on",
    Mutant.FAILED_CREATE_RUNS: "a create call that fails still starts its thread",
    Mutant.EXITS_AFTER_FIRST_CALL: "the thread ends after its first call, whatever it returned",
    Mutant.SWAP_MOVES_THREAD: "after a swap the routine runs on another thread",
    Mutant.SILENT_EXIT: "a worker thread ends without thread-exit notification",
    Mutant.CALL_AFTER_EXIT: "the routine is called once more after the thread ended",
}


def parse_mutants(text: str) -> frozenset[Mutant]:
    """Mutant names separated by '+', e.g. `lost-wakeup+no-drain`; unknown names fail."""
    out: set[Mutant] = set()
    for item in filter(None, (x.strip() for x in text.split("+"))):
        try:
            out.add(Mutant(item))
        except ValueError:
            known = ", ".join(m.value for m in Mutant)
            raise ValueError(f"unknown mutant {item!r}; known mutants: {known}") from None
    return frozenset(out)
