"""Run results: the verdict model every report and the results store share."""

from harness.results.model import CaseResult, RunResult, Verdict, ViolationInfo
from harness.results.selftest import MutantRow, SelftestMatrix, render_selftest_text

__all__ = [
    "CaseResult",
    "MutantRow",
    "RunResult",
    "SelftestMatrix",
    "Verdict",
    "ViolationInfo",
    "render_selftest_text",
]
