"""Run results: the verdict model every report and the results store share."""

from harness.results.model import CaseResult, RunResult, Verdict, ViolationInfo

__all__ = ["CaseResult", "RunResult", "Verdict", "ViolationInfo"]
