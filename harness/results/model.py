"""The verdict model: one `CaseResult` per scenario and repetition, gathered in a `RunResult`.

A verdict tells who has to act: `violation` is a product bug, `not_applicable` is an
expected absence (feature disabled on this build), `infrastructure_error` is ours (harness,
VM, network), `crash` goes to triage.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = ["CaseResult", "RunResult", "Verdict", "ViolationInfo"]


class Verdict(StrEnum):
    PASS = "pass"
    VIOLATION = "violation"
    NOT_APPLICABLE = "not_applicable"
    INFRA = "infrastructure_error"
    CRASH = "crash"

    @property
    def failed(self) -> bool:
        return self in (Verdict.VIOLATION, Verdict.INFRA, Verdict.CRASH)


class ViolationInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One broken invariant, with the trace lines it points at."""

    invariant: str
    message: str
    records: tuple[int, ...] = ()
    """seq numbers of the offending records."""
    excerpt: tuple[str, ...] = ()
    """Those records (and a little context) as JSON lines, for the report."""


class CaseResult(msgspec.Struct, kw_only=True):
    """One scenario run once."""

    scenario: str
    """Short id, e.g. swap_while_idle."""
    title: str = ""
    """First line of the scenario's docstring."""
    repetition: int = 0
    verdict: Verdict
    duration: float = 0.0
    """Wall seconds."""
    message: str = ""
    """Why it did not pass (one paragraph), or what it measured."""
    violations: tuple[ViolationInfo, ...] = ()
    trace: str | None = None
    """Path of the trace file, relative to the run's output directory."""
    facts: dict[str, str] = {}
    """Measured facts worth reporting, e.g. {"convention": "inverted"}."""
    environment: dict[str, str] = {}
    """What the case ran on, as the target reports it: on a lab target the guest build, the
    feature state, the machine and the sha256 of each driver artifact."""


class RunResult(msgspec.Struct, kw_only=True):
    """A whole run: the target it ran on and every case."""

    run_id: str
    target: str
    seed: int
    started: str
    """ISO 8601 UTC."""
    duration: float = 0.0
    harness_version: str = ""
    expected_convention: str | None = None
    cases: list[CaseResult] = []
    complete: bool = True
    """False when the run was interrupted (Ctrl-C, SIGTERM): `cases` are those that ran."""

    @property
    def failed(self) -> bool:
        return any(c.verdict.failed for c in self.cases)

    def counts(self) -> dict[Verdict, int]:
        out = dict.fromkeys(Verdict, 0)
        for c in self.cases:
            out[c.verdict] += 1
        return out
