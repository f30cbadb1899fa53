"""The hsprobectl command line for each target action: one action, one invocation.

A lab target runs `hsprobectl <args>` in the guest for every action a scenario takes and
decodes the one JSON object it prints with `outcome()`. The host tests run these argument
lists through hsprobectl's own option parser (compiled for the host) to prove each one
means what the action says. The table is in drivers/README.md too. The command line is the
same for hsprobectl.exe (Windows) and hsprobectl (the Linux stand-in): one source builds both.
"""

from __future__ import annotations

from itertools import groupby

import msgspec

from harness.actions import (
    Action,
    Alert,
    CreateWorker,
    Gate,
    Mark,
    Outcome,
    Signal,
    Swap,
    Unload,
)
from harness.contract.startctx import StartContext
from harness.errors import ConfigError, InfrastructureError

__all__ = ["CRASH_KINDS", "FAIL_PHASES", "crash_args", "hsprobectl_args", "outcome", "trace_args"]

FAIL_PHASES = ("pre", "stall", "post")
#: the crash switch (drivers/README.md): a NULL write in the routine, a bug check in the next
#: swap's ProxyStalled phase, a routine that spins with interrupts off (a hung worker)
CRASH_KINDS = ("routine-null", "swap-bug", "hang")
_outcome = msgspec.json.Decoder(Outcome)


def _events(ctx: StartContext) -> str:
    """KIND[:N],... runs of equal kinds; "none" for EventCount 0."""
    if not ctx.events:
        return "none"
    runs = [(str(kind), len(list(group))) for kind, group in groupby(ctx.events)]
    return ",".join(kind if n == 1 else f"{kind}:{n}" for kind, n in runs)


def _create(action: CreateWorker) -> list[str]:
    ctx, how = action.context, action.behaviour
    args = [
        "create",
        "--events",
        _events(ctx),
        "--wait-type",
        str(ctx.wait_type),
        "--wait-reason",
        str(ctx.wait_reason),
        "--wait-mode",
        str(ctx.wait_mode),
        "--routine",
        str(ctx.routine),
        "--endpoint",
        str(action.endpoint),
        "--returns",
        "true" if how.returns else "false",
    ]
    if ctx.alertable:
        args.append("--alertable")
    if ctx.timeout is not None:
        args += ["--timeout", str(ctx.timeout)]
    if not action.free_context:
        args.append("--keep-context")
    for status, value in how.returns_on:
        args += ["--returns-on", f"{status}={'true' if value else 'false'}"]
    if how.busy:
        args += ["--busy", str(how.busy)]
    if how.gated:
        args.append("--gated")
    return args


def _swap(action: Swap) -> list[str]:
    args = ["swap", "--to", str(action.to_version)]
    if action.fail_phase is not None:
        if action.fail_phase not in FAIL_PHASES:
            raise ConfigError(
                f"swap fail_phase {action.fail_phase!r} is not one the driver's "
                f"callback sees; use one of {', '.join(FAIL_PHASES)}"
            )
        args += ["--fail-phase", action.fail_phase]
    if action.parameter_mismatch:
        args.append("--parameter-mismatch")
    if not action.wait:
        args.append("--no-wait")
    return args


def hsprobectl_args(action: Action) -> tuple[str, ...]:
    """The arguments (after the program name) that perform `action`."""
    match action:
        case CreateWorker():
            return tuple(_create(action))
        case Signal(worker=worker, event=event):
            return ("signal", str(worker), str(event))
        case Alert(worker=worker, user_apc=user_apc):
            return ("alert", str(worker), *(("--user-apc",) if user_apc else ()))
        case Gate(closed=closed):
            return ("gate", "close" if closed else "open")
        case Swap():
            return tuple(_swap(action))
        case Unload():
            return ("unload",)
        case Mark(label=label):
            return ("mark", label)
    raise ConfigError(f"no hsprobectl command for action {type(action).__name__}")


def trace_args(
    from_seq: int = 0, *, scenario: str | None = None, header: bool = True
) -> tuple[str, ...]:
    """`hsprobectl trace` from sequence number `from_seq` on."""
    args = ["trace", "--from", str(from_seq)]
    if scenario is not None:
        args += ["--scenario", scenario]
    if not header:
        args.append("--no-header")
    return tuple(args)


def crash_args(kind: str) -> tuple[str, ...]:
    """`hsprobectl crash KIND`: arms the crash switch; the machine goes down at the next
    routine call (routine-null, hang) or the next swap (swap-bug)."""
    if kind not in CRASH_KINDS:
        raise ConfigError(f"unknown crash kind {kind!r}; use one of {', '.join(CRASH_KINDS)}")
    return ("crash", kind)


def outcome(stdout: bytes) -> Outcome:
    """The Outcome in hsprobectl's answer; a garbled answer is an infrastructure error."""
    try:
        return _outcome.decode(stdout.strip().splitlines()[-1] if stdout.strip() else b"")
    except msgspec.DecodeError as e:
        raise InfrastructureError(
            f"hsprobectl answered something that is not an outcome ({e}): {stdout[:200]!r}"
        ) from None
