"""hsproxy.ko on a real kernel: the wait, alert and swap semantics it promises (drivers/README.md),
seen in the traces hsprobe records, one guest boot for every case. The checker judges the
whole of each trace too; the stand-in guest's tests drive the same modules over SSH."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.contract import status as st
from harness.contract.check import check
from harness.contract.convention import Convention
from harness.contract.trace import (
    Create,
    Enter,
    Exit,
    Expectations,
    Header,
    Mark,
    Record,
    Swap,
    SwapPhase,
    ThreadExit,
)
from tests.integration.debug.guest import guest_dir
from tests.unit.driver.conftest import make

from .kernel import boot, traces

pytestmark = pytest.mark.integration
MS = 10_000  # 100 ns units
DIST = Path(__file__).resolve().parents[3] / "drivers" / "dist" / "linux"

CASES = r"""
begin any-lowest
load
$C gate close >/dev/null
$C create --events sync,sync,sync --gated >/dev/null
$C signal 1 0 >/dev/null; sleep 1
$C signal 1 2 >/dev/null; $C signal 1 1 >/dev/null
$C gate open >/dev/null; sleep 1
$C mark stop >/dev/null
end any-lowest

begin notification-once
load
$C create --events sync,notification >/dev/null
$C signal 1 1 >/dev/null; sleep 2
$C mark stop >/dev/null
end notification-once

begin object-beats-alert
load
$C gate close >/dev/null
$C create --events sync --alertable --gated >/dev/null
$C signal 1 0 >/dev/null; sleep 1
$C alert 1 >/dev/null; $C signal 1 0 >/dev/null
$C gate open >/dev/null; sleep 1
$C mark stop >/dev/null
end object-beats-alert

begin user-apc
load
$C create --events sync --alertable --wait-mode user --busy 1000000 >/dev/null
$C create --events sync --alertable --wait-mode kernel >/dev/null
$C alert 1 --user-apc >/dev/null; $C alert 2 --user-apc >/dev/null; sleep 2
$C mark stop >/dev/null
end user-apc

begin timeouts
load
$C create --events sync --timeout -15000000 --returns-on 258=false >/dev/null
at=$(( ($(date +%s) + 11644473600 + 2) * 10000000 ))  # 2 s ahead, 100 ns since 1601
$C create --events sync --timeout $at --returns-on 258=false >/dev/null
$C create --events sync --timeout 0 --returns-on 258=false >/dev/null
sleep 5
$C mark stop >/dev/null
end timeouts

begin wait-all
load
$C create --events sync,notification,sync --wait-type all >/dev/null
$C signal 1 0 >/dev/null; $C signal 1 1 >/dev/null; sleep 1
$C mark half >/dev/null
$C signal 1 2 >/dev/null; sleep 1
$C mark stop >/dev/null
end wait-all

begin swaps
load drain_ms=500
$C create --events sync --gated --endpoint 2 >/dev/null
$C swap --to 2 >/dev/null
$C signal 1 0 >/dev/null; sleep 0.5
$C swap --to 1 --fail-phase stall >/dev/null
$C swap --to 1 --parameter-mismatch >/dev/null
$C gate close >/dev/null
$C signal 1 0 >/dev/null; sleep 2
$C swap --to 1 >/dev/null
$C gate open >/dev/null; sleep 0.5
$C swap --to 1 >/dev/null
$C signal 1 0 >/dev/null; sleep 0.5
$C mark stop >/dev/null
end swaps

begin fallback
load feature=disabled
$C create --events sync >/dev/null
$C signal 1 0 >/dev/null; sleep 0.5
$C mark stop >/dev/null
end fallback

begin inverted
load convention=inverted
$C create --events sync --returns true >/dev/null
$C signal 1 0 >/dev/null; sleep 1
$C mark stop >/dev/null
end inverted
"""

Trace = tuple[Header, list[Record]]


@pytest.fixture(scope="module")
def cases() -> dict[str, Trace]:
    make("linux")
    return traces(boot(guest_dir(), DIST, CASES))


def _before_stop(records: Sequence[Record]) -> list[Record]:
    """What the case did, before unload's own stopping of the workers."""
    out: list[Record] = []
    for r in records:
        if isinstance(r, Mark) and r.label == "stop":
            return out
        out.append(r)
    raise AssertionError("the case never reached its stop mark")


def _statuses(records: Sequence[Record], worker: int = 1) -> list[int]:
    return [
        r.wait_status for r in _before_stop(records) if isinstance(r, Enter) and r.worker == worker
    ]


def test_every_case_ran_and_left_a_complete_trace(cases: dict[str, Trace]) -> None:
    assert set(cases) == {
        "any-lowest",
        "notification-once",
        "object-beats-alert",
        "user-apc",
        "timeouts",
        "wait-all",
        "swaps",
        "fallback",
        "inverted",
    }
    for _header, records in cases.values():
        assert [r.seq for r in records] == sorted({r.seq for r in records})
        assert all(r.it is not None for r in records)  # interrupt time on every record


def test_wait_any_returns_the_lowest_signalled_index(cases: dict[str, Trace]) -> None:
    # 2 then 1 set while the routine was held at the gate: the next waits see 1, then 2
    assert _statuses(cases["any-lowest"][1]) == [0, 1, 2]


def test_the_routine_clears_the_notification_event_that_woke_it(cases: dict[str, Trace]) -> None:
    # without the clearing rule a set notification event wakes the worker again and again
    assert _statuses(cases["notification-once"][1]) == [1]


def test_a_signalled_object_beats_a_pending_alert(cases: dict[str, Trace]) -> None:
    assert _statuses(cases["object-beats-alert"][1]) == [0, 0, st.ALERTED]


def test_a_user_apc_stays_queued_and_never_ends_a_kernel_mode_wait(cases: dict[str, Trace]) -> None:
    records = cases["user-apc"][1]
    user = _statuses(records, worker=1)
    assert len(user) >= 3 and set(user) == {st.USER_APC}  # every later wait returns it
    assert _statuses(records, worker=2) == []  # KernelMode: the APC changes nothing


def test_relative_absolute_and_zero_timeouts(cases: dict[str, Trace]) -> None:
    records = _before_stop(cases["timeouts"][1])
    made = {r.worker: r for r in records if isinstance(r, Create)}
    entered = {r.worker: r for r in records if isinstance(r, Enter)}
    assert {w: r.wait_status for w, r in entered.items()} == {
        1: st.TIMEOUT,
        2: st.TIMEOUT,
        3: st.TIMEOUT,
    }
    assert {r.worker for r in records if isinstance(r, ThreadExit)} == {1, 2, 3}
    relative, absolute = made[1], made[2]
    assert entered[1].it is not None and relative.it is not None
    assert entered[1].it - relative.it >= 1500 * MS  # on interrupt time
    assert absolute.context.timeout is not None and entered[2].t >= absolute.context.timeout
    assert entered[3].it is not None and made[3].it is not None
    assert entered[3].it - made[3].it < 1500 * MS  # the poll did not wait for a timeout


def test_wait_all_needs_every_event(cases: dict[str, Trace]) -> None:
    records = _before_stop(cases["wait-all"][1])
    half = next(r.seq for r in records if isinstance(r, Mark) and r.label == "half")
    enters = [r for r in records if isinstance(r, Enter)]
    assert [r.wait_status for r in enters] == [st.SUCCESS]
    assert enters[0].seq > half


def test_swaps_roll_back_refuse_mismatches_and_time_out_draining(cases: dict[str, Trace]) -> None:
    records = cases["swaps"][1]
    done = [r for r in records if isinstance(r, Swap) and r.phase is SwapPhase.DONE]
    assert [d.status for d in done] == [
        st.SUCCESS,
        st.UNSUCCESSFUL,
        st.INVALID_PARAMETER_3,
        st.UNSUCCESSFUL,
        st.SUCCESS,
    ]
    rollbacks = {r.swap for r in records if isinstance(r, Swap) and r.phase is SwapPhase.ROLLBACK}
    assert rollbacks == {done[1].swap, done[3].swap}  # the failing callback, the drain timeout
    versions = [r.version for r in _before_stop(records) if isinstance(r, Enter)]
    assert versions == [2, 2, 1]
    assert check(records, Expectations(convention=Convention.DOCUMENTED)) == []


def test_without_the_feature_workers_run_on_the_fallback_loop(cases: dict[str, Trace]) -> None:
    records = cases["fallback"][1]
    made = [r for r in records if isinstance(r, Create)]
    assert len(made) == 1 and made[0].fallback and made[0].status == st.SUCCESS
    assert _statuses(records) == [0]


def test_the_inverted_convention_ends_the_thread_on_true(cases: dict[str, Trace]) -> None:
    records = _before_stop(cases["inverted"][1])
    tail = [type(r) for r in records if isinstance(r, Enter | Exit | ThreadExit)]
    assert tail == [Enter, Exit, ThreadExit]
    assert next(r for r in records if isinstance(r, Exit)).returned
