"""The checker's API: invariant names, disabling, the violation cap, streaming."""

from __future__ import annotations

import pytest

from harness.contract.check import INVARIANTS, Checker, Violation, check
from harness.contract.invariants.base import RecentIds
from tests.unit.contract.script import Script, valid_worker

NAMES = [
    "passive-entry",
    "irql-restored",
    "same-thread",
    "same-endpoint",
    "wait-status",
    "swap-version",
    "swap-all-or-none",
    "swap-stall",
    "swap-phases",
    "swap-parameters",
    "thread-end",
    "lost-wakeup",
    "spurious-wake",
    "timeout-early",
    "create-status",
    "worker-origin",
    "unload",
]


def dispatch_level_trace(enters: int) -> Script:
    s = Script()
    s.create()
    for _ in range(enters):
        s.cycle(irql=2)
    s.end()
    return s


def test_invariant_names_are_the_documented_api() -> None:
    assert list(INVARIANTS) == NAMES
    assert all(desc and "\n" not in desc for desc in INVARIANTS.values())


def test_unknown_disabled_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="passive-entri"):
        Checker(Script().expectations, disabled=["passive-entri"])


def test_disabled_invariant_reports_nothing() -> None:
    s = dispatch_level_trace(3)
    assert {v.invariant for v in s.check()} == {"passive-entry"}
    assert s.check(disabled=("passive-entry",)) == []


def test_violations_are_capped_per_invariant_with_a_count_of_the_rest() -> None:
    s = dispatch_level_trace(60)
    violations = s.check()
    assert len(violations) == 51
    assert all(v.records for v in violations[:50])
    assert violations[-1] == Violation(
        "passive-entry", "10 more passive-entry violations were found but not listed"
    )


def test_feed_one_by_one_equals_feed_many_and_check() -> None:
    s = dispatch_level_trace(2)
    one = Checker(s.expectations)
    for rec in s.records:
        one.feed(rec)
    many = Checker(s.expectations)
    many.feed_many(iter(s.records))
    assert one.finish() == many.finish() == check(s.records, s.expectations)
    assert one.records == many.records == len(s.records)


def test_finish_reports_open_state_once() -> None:
    s = Script()
    s.swap(1, "request pre")
    checker = Checker(s.expectations)
    checker.feed_many(s.records)
    assert len(checker.finish()) == 1
    assert len(checker.finish()) == 1


def test_several_workers_interleaved_pass() -> None:
    s = Script()
    for w in (1, 2, 3):
        s.create(w)
    for _ in range(3):
        for w in (3, 1, 2):
            s.cycle(w)
    for w in (2, 3, 1):
        s.end(w)
    assert s.check() == []


def test_state_of_ended_workers_is_dropped() -> None:
    s = Script()
    for w in range(200):
        valid_worker(s, w, cycles=1)
    checker = Checker(s.expectations)
    checker.feed_many(s.records)
    assert checker.finish() == []
    assert checker.live_workers == 0


def test_something_else_than_a_record_is_a_type_error() -> None:
    checker = Checker(Script().expectations)
    with pytest.raises(TypeError, match="not a trace record"):
        checker.feed_many(["enter"])  # type: ignore[list-item]


def test_long_swap_storm_keeps_no_state_per_swap() -> None:
    s = Script()
    s.create()
    version = 1
    for sid in range(1, 301):
        s.cycle(version=version)
        s.swap(sid, old=version, new=3 - version)
        version = 3 - version
    s.end(version=version)
    checker = Checker(s.expectations)
    checker.feed_many(s.records)
    assert checker.finish() == []
    sizes = [
        len(v)
        for inv in checker._invariants
        for v in vars(inv).values()
        if isinstance(v, dict) and not isinstance(v, RecentIds)
    ]
    assert max(sizes) <= 2  # endpoints and the odd worker; nothing grows with swaps


def test_recent_ids_stay_bounded() -> None:
    ids = RecentIds(size=3)
    for n in range(10):
        ids.add(n, n * 10)
    assert list(ids.items()) == [(7, 70), (8, 80), (9, 90)]
