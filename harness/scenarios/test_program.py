"""A saved scenario program replayed (`harness run --program FILE`, `--hs-program FILE`)."""

from __future__ import annotations

from harness.fuzz.execute import perform
from harness.fuzz.program import Program
from harness.scenarios.context import Scenario


def test_program(scenario: Scenario, program: Program) -> None:
    """A scenario program replayed step by step; the contract checker is the judge."""
    if program.note:
        scenario.facts["program"] = program.note
    perform(scenario.target, program)
