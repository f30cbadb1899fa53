"""Selftest must catch every mutant, and must be able to fail."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.scenarios.selftest import selftest
from harness.sim.mutants import MUTANTS, Mutant


def test_every_mutant_is_caught_and_the_correct_kernel_passes() -> None:
    assert len(MUTANTS) >= 12
    matrix = selftest(jobs=2)
    assert not matrix.baseline_failures
    assert not matrix.survivors, [m.name for m in matrix.survivors]
    assert matrix.ok


def test_selftest_fails_when_an_invariant_is_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    # irql-leak is visible only to the irql-restored invariant: without it, it survives
    matrix = selftest([Mutant.IRQL_LEAK], disabled=("irql-restored",), jobs=1)
    assert [m.name for m in matrix.survivors] == ["irql-leak"]
    assert not matrix.ok
    code = main(["selftest", "--mutant", "irql-leak", "--disable-invariant", "irql-restored"])
    assert code == 1
    assert "SURVIVED" in capsys.readouterr().out


def test_unknown_mutant_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--mutant", "bogus"]) == 2
    assert "unknown mutant 'bogus'" in capsys.readouterr().err
