"""Each action's hsprobectl command line, parsed by hsprobectl's own parser built for the host."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.actions import Alert, Behaviour, CreateWorker, Gate, Mark, Signal, Swap, Unload
from harness.contract.startctx import EventKind, Routine, StartContext, relative
from harness.driver.commands import CRASH_KINDS, crash_args, hsprobectl_args, outcome, trace_args
from harness.errors import ConfigError, InfrastructureError

N, S = EventKind.NOTIFICATION, EventKind.SYNC


def _parsed(host_tools: Path, args: tuple[str, ...]) -> dict[str, Any]:
    proc = subprocess.run(
        [str(host_tools / "options-probe"), *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _notification_bits(events: tuple[EventKind, ...]) -> list[int]:
    bits = sum(1 << i for i, kind in enumerate(events) if kind is N)
    return [bits & (2**64 - 1), bits >> 64]


@pytest.mark.parametrize(
    "action",
    [
        CreateWorker(context=StartContext()),
        CreateWorker(
            context=StartContext(
                events=(S, N, N, S),
                wait_type=0,
                wait_reason=6,
                wait_mode=1,
                alertable=True,
                timeout=relative(5),
                routine=Routine.RAW,
            ),
            behaviour=Behaviour(
                returns=False, returns_on=((1, True), (0x102, False)), busy=20_000, gated=True
            ),
            endpoint=2,
            free_context=False,
        ),
        CreateWorker(context=StartContext(events=(), routine=Routine.NULL)),
        CreateWorker(context=StartContext(events=(S,) * 64 + (N,), wait_type=7, timeout=0)),
    ],
)
def test_create_arguments_carry_every_field(host_tools: Path, action: CreateWorker) -> None:
    got = _parsed(host_tools, hsprobectl_args(action))
    ctx, how = action.context, action.behaviour
    assert got["event_count"] == ctx.event_count
    assert got["notification"] == _notification_bits(ctx.events)
    assert (got["wait_type"], got["wait_reason"], got["wait_mode"]) == (
        ctx.wait_type,
        ctx.wait_reason,
        ctx.wait_mode,
    )
    assert got["alertable"] == ctx.alertable
    assert got["has_timeout"] == ctx.has_timeout
    assert got["timeout"] == (ctx.timeout or 0)
    assert got["routine"] == [Routine.WRAPPER, Routine.RAW, Routine.NULL].index(ctx.routine)
    assert (got["endpoint"], got["free_context"]) == (action.endpoint, action.free_context)
    assert (got["returns"], got["gated"], got["busy"]) == (how.returns, how.gated, how.busy)
    assert got["overrides"] == [[status, int(value)] for status, value in how.returns_on]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (
            Swap(to_version=2),
            {"to_version": 2, "fail_phase": 0, "parameter_mismatch": 0, "wait": 1},
        ),
        (
            Swap(to_version=1, fail_phase="stall", parameter_mismatch=True, wait=False),
            {"to_version": 1, "fail_phase": 2, "parameter_mismatch": 1, "wait": 0},
        ),
        (
            Swap(to_version=2, fail_phase="post"),
            {"to_version": 2, "fail_phase": 4, "parameter_mismatch": 0, "wait": 1},
        ),
    ],
)
def test_swap_arguments(host_tools: Path, action: Swap, expected: dict[str, int]) -> None:
    assert _parsed(host_tools, hsprobectl_args(action)) == expected


def test_the_other_actions_map_to_one_command_each() -> None:
    assert hsprobectl_args(Signal(3, 1)) == ("signal", "3", "1")
    assert hsprobectl_args(Alert(3, user_apc=True)) == ("alert", "3", "--user-apc")
    assert hsprobectl_args(Alert(3)) == ("alert", "3")
    assert hsprobectl_args(Gate(closed=True)) == ("gate", "close")
    assert hsprobectl_args(Gate(closed=False)) == ("gate", "open")
    assert hsprobectl_args(Unload()) == ("unload",)
    assert hsprobectl_args(Mark("end of program")) == ("mark", "end of program")
    assert trace_args(12, scenario="s", header=False) == (
        "trace",
        "--from",
        "12",
        "--scenario",
        "s",
        "--no-header",
    )


def test_a_swap_failing_in_an_unknown_phase_is_refused() -> None:
    with pytest.raises(ConfigError, match="use one of pre, stall, post"):
        hsprobectl_args(Swap(to_version=2, fail_phase="switch"))


def test_the_parser_rejects_bad_values(host_tools: Path) -> None:
    for args in (
        ("create", "--events", "sometimes"),
        ("create", "--endpoint", "3"),
        ("swap", "--to", "3"),
        ("swap",),
        ("create", "--returns-on", "1"),
    ):
        proc = subprocess.run(
            [str(host_tools / "options-probe"), *args], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 2 and proc.stderr.strip(), args


def test_outcome_reads_the_tool_answer() -> None:
    got = outcome(b'{"status":3221225485,"status_hex":"0xC000000D"}\r\n')
    assert (got.status, got.worker) == (0xC000000D, None)
    assert outcome(b'{"status":0,"worker":4,"thread":88}\n').worker == 4
    with pytest.raises(InfrastructureError, match="not an outcome"):
        outcome(b"The system cannot find the file specified.\r\n")


def test_crash_kinds_are_the_ones_the_tool_and_the_module_accept(linux_dist: Path) -> None:
    assert crash_args("swap-bug") == ("crash", "swap-bug")
    with pytest.raises(ConfigError, match="use one of routine-null, swap-bug, hang"):
        crash_args("reboot")
    # the tool's parser knows each (it only fails later, on the missing device: exit 3)
    for kind in CRASH_KINDS:
        proc = subprocess.run(
            [str(linux_dist / "hsprobectl"), *crash_args(kind)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 3, proc.stderr
    # and hsprobe.ko's crash= parameter takes the same names
    module = (
        Path(__file__).resolve().parents[3] / "drivers" / "linux" / "hsprobe" / "module.c"
    ).read_text()
    assert all(f'"{kind}"' in module for kind in CRASH_KINDS)
