"""The scenario x repetition grid of a run, and how every report names and sums up a case."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results.model import CaseResult, RunResult

__all__ = ["Grid", "case_name", "headline"]


def case_name(case: CaseResult, repeated: bool) -> str:
    """`swap_while_idle`, or `swap_while_idle[2]` when the run repeats scenarios."""
    return f"{case.scenario}[{case.repetition}]" if repeated else case.scenario


def headline(case: CaseResult) -> str:
    """One line on why a case did not pass: its first broken invariant, else its message."""
    if case.violations:
        first = case.violations[0]
        more = len(case.violations) - 1
        return f"{first.invariant}: {first.message}" + (f" (+{more} more)" if more else "")
    return case.message


@dataclass(frozen=True)
class Grid:
    """Scenarios in the order they first ran, repetitions ascending, one case per cell."""

    scenarios: list[str]
    repetitions: list[int]
    cells: dict[tuple[str, int], CaseResult]

    @classmethod
    def of(cls, run: RunResult) -> Grid:
        scenarios: dict[str, None] = {}
        cells: dict[tuple[str, int], CaseResult] = {}
        for case in run.cases:
            scenarios.setdefault(case.scenario, None)
            cells[case.scenario, case.repetition] = case
        repetitions = sorted({rep for _, rep in cells})
        return cls(list(scenarios), repetitions, cells)

    @property
    def repeated(self) -> bool:
        """True when some scenario ran more than once, so names need their repetition."""
        return len(self.repetitions) > 1

    def row(self, scenario: str) -> list[CaseResult]:
        return [c for rep in self.repetitions if (c := self.cells.get((scenario, rep)))]

    def title(self, scenario: str) -> str:
        return next((c.title for c in self.row(scenario) if c.title), "")
