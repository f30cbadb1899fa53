"""A small factory of RunResults for the report tests."""

from __future__ import annotations

from typing import Any

import pytest

from harness.results.model import CaseResult, RunResult, Verdict, ViolationInfo

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>\x00\x1b[31m\x07 done'

EXCERPT = (
    '{"seq":41,"kind":"invoke","version":1,"thread":"0x1234"}',
    '{"seq":42,"kind":"swap_done","version":2}',
    '{"seq":43,"kind":"invoke","version":1,"thread":"0x1234"}',
)


def case(scenario: str, verdict: Verdict = Verdict.PASS, **kw: Any) -> CaseResult:
    kw.setdefault("trace", f"traces/{scenario}-{kw.get('repetition', 0)}.jsonl")
    kw.setdefault("duration", 0.02)
    return CaseResult(scenario=scenario, verdict=verdict, **kw)


def run_of(cases: list[CaseResult], **kw: Any) -> RunResult:
    kw.setdefault("run_id", "20261121-193704-abc")
    kw.setdefault("target", "sim")
    kw.setdefault("seed", 7)
    kw.setdefault("started", "2026-11-21T19:37:04Z")
    kw.setdefault("duration", 1.5)
    kw.setdefault("harness_version", "0.1.0")
    kw.setdefault("expected_convention", "documented")
    return RunResult(cases=cases, **kw)


def violation(invariant: str = "old_version_after_swap", message: str = "") -> ViolationInfo:
    return ViolationInfo(
        invariant=invariant,
        message=message or "After a completed swap only the new version may run.",
        records=(41, 42, 43),
        excerpt=EXCERPT,
    )


@pytest.fixture
def mixed_run() -> RunResult:
    """One case of every verdict, the swap scenario repeated, a convention that differs."""
    cases = []
    for rep in range(3):
        cases.append(case("feature_probe", repetition=rep, title="Probe the feature."))
        cases.append(
            case(
                "swap_while_idle",
                Verdict.VIOLATION if rep == 1 else Verdict.PASS,
                repetition=rep,
                duration=0.1 * (rep + 1),
                message="the old routine ran after the swap" if rep == 1 else "",
                violations=(violation(),) if rep == 1 else (),
            )
        )
    cases += [
        case("convention", facts={"convention": "inverted"}, message="measured inverted"),
        case("unload_live", Verdict.NOT_APPLICABLE, message="DriverProxy feature disabled"),
        case("swap_storm", Verdict.INFRA, message="lost the guest agent connection"),
        case("alertable_wait", Verdict.CRASH, message="bugcheck 0x139 in hsprobe.sys"),
    ]
    return run_of(cases)


@pytest.fixture
def hostile_run() -> RunResult:
    """Scenario text from a guest that tries to inject markup and terminal escapes."""
    bad = violation(invariant=HOSTILE, message=HOSTILE)
    bad = ViolationInfo(
        invariant=bad.invariant, message=bad.message, excerpt=(HOSTILE,), records=(1,)
    )
    return run_of(
        [
            case(
                "swap<b>x</b>",
                Verdict.VIOLATION,
                title=HOSTILE,
                message=HOSTILE,
                violations=(bad,),
                trace='traces/"><script>x</script>.jsonl',
                facts={"convention": HOSTILE},
            ),
            case("quiet", Verdict.NOT_APPLICABLE, message=HOSTILE),
        ],
        target='sim"<x>',
        run_id=HOSTILE,
    )
