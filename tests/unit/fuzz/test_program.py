"""Scenario programs: the file format, and running one on a target."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from harness import actions as act
from harness.contract import status as st
from harness.contract import trace
from harness.contract.convention import Convention
from harness.contract.startctx import EventKind, StartContext, relative
from harness.errors import InputError
from harness.fuzz.execute import judge, perform
from harness.fuzz.program import (
    Alert,
    Create,
    Pause,
    Program,
    Routine,
    Signal,
    dump_program,
    load_program,
)
from harness.targets import open_target

S = EventKind.SYNC

EVERY_STEP = Program(
    seed=7,
    note="every kind of step",
    steps=(
        Create(context=StartContext(events=(S, S), alertable=True), routine=Routine(gated=True)),
        Create(
            context=StartContext(),
            deadline_ms=5.0,
            endpoint=2,
            free_context=False,
            routine=Routine(ends=True, flip_on=(st.wait(0),), busy_us=10),
        ),
        Signal(worker=1, event=1),
        Alert(worker=1, user_apc=True),
        act.Gate(closed=True),
        act.Swap(to_version=2, wait=False, fail_phase="stall", parameter_mismatch=True),
        Pause(0.5),
        act.Unload(),
    ),
)


def test_a_program_survives_its_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(dump_program(EVERY_STEP))
    assert load_program(path) == EVERY_STEP
    lines = path.read_text().splitlines()
    assert len(lines) == len(EVERY_STEP.steps) + 2, "one step per line"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{", "not a scenario program"),
        (b'{"format":1,"steps":[{"type":"reboot"}]}', "not a scenario program"),
        (b'{"format":1,"steps":[{"type":"signal","worker":0}]}', ">= 1"),
        (b'{"format":1,"steps":[{"type":"pause","ms":-1}]}', ">= 0"),
        (b'{"format":9,"steps":[]}', "format 9 is not supported"),
    ],
)
def test_a_bad_program_file_is_one_input_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words) as e:
        load_program(path)
    assert str(path) in str(e.value)


def test_a_directory_is_not_a_program(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_program(tmp_path)


@pytest.mark.parametrize("convention", list(Convention))
def test_routines_say_end_or_continue_whatever_the_convention(convention: Convention) -> None:
    b = Routine(ends=False, flip_on=(st.TIMEOUT,), busy_us=3).behaviour(convention)
    assert convention.ends(b.value_for(st.TIMEOUT))
    assert not convention.ends(b.value_for(st.wait(0)))
    assert b.busy == 30


def test_workers_are_named_by_creation_order() -> None:
    """A reference to a create that failed is an id no target hands out."""
    program = Program(
        steps=(
            Create(context=StartContext(events=())),  # invalid: no worker
            Create(context=StartContext(events=(S, S))),
            Signal(worker=2, event=1),
            Signal(worker=1, event=0),
            Signal(worker=5, event=0),
            Pause(1.0),
        )
    )
    target = open_target("sim")
    target.probe()
    perform(target, program)
    records = target.records()
    signals = [r for r in records if isinstance(r, trace.Signal)]
    assert [(s.worker, s.event) for s in signals] == [(1, 1)]
    enters = [r for r in records if isinstance(r, trace.Enter)]
    assert [(e.worker, e.wait_status) for e in enters] == [(1, st.wait(1))]
    assert isinstance(records[-1], trace.Mark), "the epilogue marks the end of the program"


def test_an_absolute_deadline_is_taken_from_the_targets_clock() -> None:
    program = Program(
        steps=(Create(deadline_ms=3.0, routine=Routine(flip_on=(st.TIMEOUT,), ends=False)),)
    )
    found, records, _ = judge("sim", program)
    assert not found.failed, found.summary()
    create = next(r for r in records if isinstance(r, trace.Create))
    probe = next(r for r in records if isinstance(r, trace.Probe))
    assert create.context.timeout == probe.t + 30_000
    enter = next(r for r in records if isinstance(r, trace.Enter))
    assert enter.wait_status == st.TIMEOUT and enter.t >= create.context.timeout


def test_judge_reports_violations_and_crashes() -> None:
    runs = Program(steps=(Create(context=StartContext(timeout=relative(1))), Pause(5.0)))
    clean, _, _ = judge("sim", runs)
    assert not clean.failed and clean.records > 5
    bad, _, _ = judge("sim:mutant=dispatch-level", runs)
    assert bad.failed and bad.violations[0].invariant == "passive-entry"
    crash, records, _ = judge("sim:mutant=context-not-copied", runs)
    assert crash.crash is not None and "0x50" in crash.summary()
    assert records, "the trace up to the crash is kept"


def test_program_steps_decode_as_their_own_types() -> None:
    raw = b'{"format":1,"steps":[{"type":"gate","closed":true},{"type":"unload"}]}'
    program = msgspec.json.decode(raw, type=Program)
    assert program.steps == (act.Gate(closed=True), act.Unload())
