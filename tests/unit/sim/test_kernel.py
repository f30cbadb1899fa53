"""The simulated kernel end to end through the sim target: determinism, swaps, gating."""

from __future__ import annotations

import io

import pytest

from harness import actions as act
from harness.contract import jsonl, trace
from harness.contract import status as st
from harness.contract.startctx import EventKind, StartContext
from harness.contract.trace import FORMAT_VERSION, Header
from harness.errors import ConfigError, GuestCrashError
from harness.targets import open_target
from harness.targets.sim import SimTarget

S = EventKind.SYNC


def _workload(seed: int, spec: str = "sim") -> bytes:
    t = open_target(spec, seed=seed)
    t.probe()
    w = t.do(act.CreateWorker(context=StartContext(events=(S, S)))).worker
    assert w is not None
    for i in range(5):
        t.do(act.Signal(w, i % 2))
        t.run(10_000)
    t.do(act.Swap(to_version=2))
    t.do(act.Signal(w, 0))
    t.run(10_000)
    buf = io.BytesIO()
    jsonl.write_trace(buf, Header(format=FORMAT_VERSION), t.records())
    return buf.getvalue()


def test_same_seed_gives_byte_identical_trace() -> None:
    assert _workload(7) == _workload(7)
    assert _workload(7) != _workload(8), "the seed must change timings and thread ids"


def test_swap_records_all_phases_in_order_and_switches_version() -> None:
    t = SimTarget()
    w = t.do(act.CreateWorker(context=StartContext())).worker
    assert t.do(act.Swap(to_version=2)).status == st.SUCCESS
    phases = [r.phase for r in t.records() if isinstance(r, trace.Swap)]
    assert phases == ["request", "pre", "stall", "switch", "post", "done"]
    t.do(act.Signal(w or 0, 0))
    t.run(10_000)
    assert [r.version for r in t.records() if isinstance(r, trace.Enter)] == [2]


def test_failing_post_callback_rolls_back_after_the_switch() -> None:
    t = SimTarget()
    w = t.do(act.CreateWorker(context=StartContext())).worker or 0
    assert t.do(act.Swap(to_version=2, fail_phase="post")).status == st.UNSUCCESSFUL
    phases = [r.phase for r in t.records() if isinstance(r, trace.Swap)]
    assert phases[-3:] == ["post", "rollback", "done"]
    t.do(act.Signal(w, 0))
    t.run(10_000)
    assert [r.version for r in t.records() if isinstance(r, trace.Enter)] == [1]


def test_gate_holds_a_call_and_swap_waits_then_drain_times_out() -> None:
    t = open_target("sim:drain_timeout_ms=50")
    w = (
        t.do(act.CreateWorker(context=StartContext(), behaviour=act.Behaviour(gated=True))).worker
        or 0
    )
    t.do(act.Gate(closed=True))
    t.do(act.Signal(w, 0))
    t.run(10_000)
    assert t.do(act.Swap(to_version=2, wait=False)).status == st.PENDING
    t.run(40 * 10_000)
    assert not [r for r in t.records() if isinstance(r, trace.Swap) and r.phase == "done"]
    t.run(20 * 10_000)
    done = [r for r in t.records() if isinstance(r, trace.Swap) and r.phase == "done"]
    assert [d.status for d in done] == [st.UNSUCCESSFUL]


@pytest.mark.parametrize(
    ("feature", "status"), [("disabled", st.NOT_SUPPORTED), ("blocked", st.DRIVER_BLOCKED)]
)
def test_feature_gating(feature: str, status: int) -> None:
    t = open_target(f"sim:feature={feature}")
    f = t.probe()
    assert f.extension_status == status
    assert f.enabled is (feature == "blocked")
    # without an extension the driver runs its own PsCreateSystemThread loop
    out = t.do(act.CreateWorker(context=StartContext(), behaviour=act.Behaviour(returns=False)))
    assert out.status == st.SUCCESS and out.worker == 1
    create = [r for r in t.records() if isinstance(r, trace.Create)]
    assert create[0].fallback and create[0].status == st.SUCCESS
    t.do(act.Signal(1, 0))
    t.run(10_000)
    kinds = [type(r).__name__ for r in t.records() if not isinstance(r, trace.Mark)]
    assert kinds[-3:] == ["Enter", "Exit", "ThreadExit"]
    bad = t.do(act.CreateWorker(context=StartContext(events=())))
    assert bad.status == st.INVALID_PARAMETER and bad.worker is None


def test_context_not_copied_mutant_bug_checks_when_the_context_is_freed() -> None:
    t = open_target("sim:mutant=context-not-copied")
    t.do(act.CreateWorker(context=StartContext(), free_context=True))
    with pytest.raises(GuestCrashError, match="0x50"):
        t.run(10_000)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("sim:feature=maybe", "feature='maybe'"),
        ("sim:colour=blue", "unknown sim target option 'colour'"),
        ("sim:mutant=nope", "unknown mutant 'nope'"),
        ("sim:convention=sideways", "documented"),
        ("vmware", "unknown target 'vmware'"),
    ],
)
def test_bad_target_specs_name_the_problem(spec: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        open_target(spec)
