"""Scenario programs as data: the steps a random (or hand-written) program performs, and
the JSON file a failing one is saved to. See docs/fuzz.md for the format.

A program names its workers by creation order (`worker: 2` is the worker the program's
second `create` step made), so the same file replays on any target whatever ids it hands
out; a reference to a create that failed, or to one not made yet, becomes an id no target
hands out (an invalid worker, itself part of what the programs explore). Routine
behaviours say *end* or *continue*, never TRUE or FALSE, so a program means the same
under either return-value convention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import msgspec

from harness import actions as act
from harness.contract.convention import Convention
from harness.contract.startctx import StartContext
from harness.errors import InputError
from harness.files import read_regular

__all__ = [
    "FORMAT",
    "Alert",
    "Create",
    "Pause",
    "Program",
    "Signal",
    "Step",
    "dump_program",
    "load_program",
]

FORMAT: Final = 1
MAX_FILE: Final = 16 << 20
"""Largest program file read (bytes): far beyond any program worth replaying."""


class Routine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the test driver's routine does when called, independent of the convention."""

    ends: bool = False
    """Its usual answer asks the thread to end (default: keep running)."""
    flip_on: tuple[int, ...] = ()
    """WaitStatus values on which it gives the other answer."""
    busy_us: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    """Microseconds it spends per call."""
    gated: bool = False
    """It blocks on the driver's gate while the gate is closed."""

    def behaviour(self, convention: Convention) -> act.Behaviour:
        def value(ends: bool) -> bool:
            return convention.value_to_end() if ends else convention.value_to_continue()

        return act.Behaviour(
            returns=value(self.ends),
            returns_on=tuple((s, value(not self.ends)) for s in self.flip_on),
            busy=self.busy_us * 10,
            gated=self.gated,
        )


class Create(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="create"):
    """Create a worker (IoDriverProxyCreateHotSwappableWorkerThread)."""

    context: StartContext = StartContext()
    routine: Routine = Routine()
    endpoint: Annotated[int, msgspec.Meta(ge=1, le=2)] = 1
    free_context: bool = True
    deadline_ms: float | None = None
    """An absolute timeout this many ms after the target's newest record (replaces
    `context.timeout`): absolute times do not carry from one target to another."""


class Signal(msgspec.Struct, frozen=True, kw_only=True, tag="signal"):
    """Set event `event` of the program's `worker`-th created worker."""

    worker: Annotated[int, msgspec.Meta(ge=1)]
    event: Annotated[int, msgspec.Meta(ge=0)] = 0


class Alert(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="alert"):
    """Alert the program's `worker`-th created worker, or queue it a user APC."""

    worker: Annotated[int, msgspec.Meta(ge=1)]
    user_apc: bool = False


class Pause(msgspec.Struct, frozen=True, tag="pause"):
    """Let `ms` milliseconds pass (virtual on the simulator, real on a guest)."""

    ms: Annotated[float, msgspec.Meta(ge=0, le=60_000)]


Step = Create | Signal | Alert | act.Gate | act.Swap | act.Unload | Pause
"""One step; gate, swap and unload are the actions of harness.actions as they are."""


class Program(msgspec.Struct, frozen=True, kw_only=True):
    """A whole program: its steps in order, and the simulator seed it ran with."""

    format: int = FORMAT
    steps: tuple[Step, ...]
    seed: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Simulator seed (scheduling latencies); other targets ignore it."""
    note: str = ""
    """Free text, e.g. what the program found and where."""


def dump_program(program: Program) -> bytes:
    """The program as JSON with one step per line, so that a diff reads step by step."""
    head = msgspec.json.encode(
        {"format": program.format, "seed": program.seed, "note": program.note}
    )
    steps = b",\n  ".join(msgspec.json.encode(s) for s in program.steps)
    return head[:-1] + b',"steps":[\n  ' + steps + b"\n]}\n"


def load_program(path: str | Path) -> Program:
    """Read a program file; a malformed one is one InputError naming the file."""
    data = read_regular(path, limit=MAX_FILE, what="program file")
    try:
        program = msgspec.json.decode(data, type=Program)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InputError(f"not a scenario program: {e}", path=str(path)) from None
    if program.format != FORMAT:
        raise InputError(
            f"program format {program.format} is not supported (this harness "
            f"reads format {FORMAT})",
            path=str(path),
        )
    return program
