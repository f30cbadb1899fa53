"""Programs the fuzzer once found on the correct simulator: each was a false alarm of the
checker or a fault of the model, fixed since. Each must stay clean (its `note` says why)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fuzz.execute import judge
from harness.fuzz.program import load_program

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_a_once_found_program_is_clean_on_the_correct_simulator(path: Path) -> None:
    program = load_program(path)
    assert program.note, "say why the program is here"
    judged, _, _ = judge("sim:drain_timeout_ms=20", program)
    assert not judged.failed, f"{program.note}: {judged.summary()}"
