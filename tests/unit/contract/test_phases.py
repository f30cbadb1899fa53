"""swap-phases."""

from __future__ import annotations

from harness.contract import status as st
from tests.unit.contract.script import Script


def test_full_swap_and_early_rollbacks_pass() -> None:
    s = Script()
    s.swap(1)
    s.swap(2, "request pre rollback done", old=2, new=1, status=st.UNSUCCESSFUL)
    s.swap(3, "request rollback done", old=2, new=1, status=st.INVALID_PARAMETER_3)
    s.swap(4, "request pre stall post done", old=2, new=1)
    assert s.check() == []


def test_phases_out_of_order_are_reported() -> None:
    s = Script()
    seqs = s.swap(1, "request stall pre post done")
    # stall straight after request, then pre after stall
    assert s.found("swap-phases") == [
        (seqs["request"], seqs["stall"]),
        (seqs["stall"], seqs["pre"]),
    ]


def test_phase_repeated_is_reported() -> None:
    s = Script()
    first = s.swap(1, "request pre stall")["stall"]
    again = s.swap(1, "stall post done")
    assert s.found("swap-phases") == [(first, again["stall"])]


def test_success_without_post_is_reported() -> None:
    s = Script()
    seqs = s.swap(1, "request pre stall switch done")
    assert s.found("swap-phases") == [(seqs["request"], seqs["done"])]


def test_success_after_rollback_and_steps_after_rollback_are_reported() -> None:
    s = Script()
    seqs = s.swap(1, "request pre rollback")
    post = s.swap(1, "post done", status=st.SUCCESS)
    # post after the rollback, then a success that rolled back
    found = s.check()
    assert [v.records for v in found if v.invariant == "swap-phases"] == [
        (seqs["rollback"], post["post"]),
        (seqs["rollback"], post["done"]),
    ]


def test_done_without_status_is_reported() -> None:
    s = Script()
    seqs = s.swap(1, "request pre rollback done", status=None)  # type: ignore[arg-type]
    assert s.found("swap-phases") == [(seqs["done"],)]


def test_swap_not_starting_with_request_is_reported() -> None:
    s = Script()
    seqs = s.swap(1, "pre stall post done")
    assert s.found("swap-phases") == [(seqs["pre"],)]


def test_swap_never_done_is_reported_at_the_end() -> None:
    s = Script()
    seqs = s.swap(1, "request pre stall")
    assert s.found("swap-phases") == [(seqs["request"], seqs["stall"])]


def test_record_after_done_is_reported() -> None:
    s = Script()
    seqs = s.swap(1)
    late = s.swap(1, "post")
    assert s.found("swap-phases") == [(seqs["done"], late["post"])]
