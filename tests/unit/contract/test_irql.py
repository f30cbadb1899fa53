"""passive-entry and irql-restored."""

from __future__ import annotations

from tests.unit.contract.script import Script, valid_worker


def test_clean_worker_has_no_violation() -> None:
    s = Script()
    valid_worker(s)
    assert s.check() == []


def test_entry_above_passive_is_reported_with_its_seq() -> None:
    s = Script()
    s.create()
    s.wait()
    s.signal()
    bad = s.enter(irql=2)
    s.exit(irql=2)
    s.end()
    violations = s.check()
    assert [(v.invariant, v.records) for v in violations] == [("passive-entry", (bad,))]
    assert "IRQL 2 (DISPATCH_LEVEL)" in violations[0].message


def test_return_at_another_irql_names_enter_and_exit() -> None:
    s = Script()
    s.create()
    s.wait()
    s.signal()
    enter = s.enter()
    exit_ = s.exit(irql=1)
    s.end()
    assert s.found("irql-restored") == [(enter, exit_)]


def test_exit_without_enter_is_reported() -> None:
    s = Script()
    s.create()
    stray = s.exit()
    s.end()
    assert s.found("irql-restored") == [(stray,)]
