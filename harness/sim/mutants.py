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
