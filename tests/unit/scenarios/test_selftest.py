"""Selftest must catch every mutant, and must be able to fail."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.contract.check import INVARIANTS
from harness.scenarios.selftest import selftest
from harness.sim.mutants import MUTANTS, Mutant


def test_the_checker_alone_catches_every_mutant_and_the_correct_kernel_passes() -> None:
    assert len(MUTANTS) >= 35
    matrix = selftest(jobs=2)
    assert not matrix.baseline_failures
    assert not matrix.survivors, [m.name for m in matrix.survivors]
    assert not matrix.assertion_only, [m.name for m in matrix.assertion_only]
    assert matrix.score == (len(MUTANTS), len(MUTANTS))
    assert matrix.ok
    fired = {name for m in matrix.mutants for name in m.invariants}
    # every invariant is exercised by some mutant (a rule no mutant breaks proves nothing)
    assert set(INVARIANTS) - fired == set()


def test_selftest_fails_when_an_invariant_is_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    # irql-leak is visible only to the irql-restored invariant: without it, it survives
    matrix = selftest([Mutant.IRQL_LEAK], disabled=("irql-restored",), jobs=1)
    assert [m.name for m in matrix.survivors] == ["irql-leak"]
    assert not matrix.ok
    code = main(["selftest", "--mutant", "irql-leak", "--disable-invariant", "irql-restored"])
    assert code == 1
    assert "SURVIVED" in capsys.readouterr().out


def test_a_mutant_only_an_assertion_catches_fails_the_selftest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # without timeout-early only test_timeout_relative's own count of timeouts sees it
    matrix = selftest([Mutant.EARLY_TIMEOUT], disabled=("timeout-early",), jobs=1)
    [row] = matrix.mutants
    assert row.assertion_only and row.asserted_by and not row.caught_by
    assert matrix.score == (0, 1) and not matrix.ok
    code = main(["selftest", "--mutant", "early-timeout", "--disable-invariant", "timeout-early"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ONLY AN ASSERTION CAUGHT: early-timeout" in out


def test_unknown_mutant_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--mutant", "bogus"]) == 2
    assert "unknown mutant 'bogus'" in capsys.readouterr().err
