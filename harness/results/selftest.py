"""The selftest matrix: which scenarios caught which simulator mutant, and its text rendering.

`harness selftest` runs the suite on the correct simulator (the baseline, which must pass)
and on every mutant (each must be caught by at least one scenario). A mutant nobody caught
means the suite's green verdicts prove less than they claim.
"""

from __future__ import annotations

import msgspec

from harness.results.model import Verdict

__all__ = ["MutantRow", "SelftestMatrix", "render_selftest_text"]


class MutantRow(msgspec.Struct, kw_only=True):
    """One kernel bug the simulator was told to have, and how the suite fared against it."""

    name: str
    description: str = ""
    caught_by: list[str] = []
    """Ids of the scenarios that failed on this mutant, i.e. caught it."""
    verdicts: dict[str, Verdict] = {}
    """Each scenario's verdict on this mutant."""

    @property
    def survived(self) -> bool:
        return not self.caught_by


class SelftestMatrix(msgspec.Struct, kw_only=True):
    mutants: list[MutantRow]
    scenarios: list[str]
    """Column order."""
    baseline: dict[str, Verdict] = {}
    """Each scenario's verdict on the correct simulator."""

    @property
    def survivors(self) -> list[MutantRow]:
        return [m for m in self.mutants if m.survived]

    @property
    def baseline_failures(self) -> list[str]:
        return [s for s in self.scenarios if s in self.baseline and self.baseline[s].failed]

    @property
    def ok(self) -> bool:
        """The selftest passes: the correct kernel fails nothing and every mutant is caught."""
        return not self.survivors and not self.baseline_failures


def render_selftest_text(matrix: SelftestMatrix) -> str:
    """A compact terminal matrix: mutants down, scenarios across under numbered headers.

    `x` marks a scenario that caught the mutant, `.` one that did not; on the baseline row
    `!` marks a scenario that failed on the correct kernel. A legend maps numbers to ids.
    """
    width = len(str(len(matrix.scenarios))) + 1
    name_width = max([len(m.name) for m in matrix.mutants] + [len("baseline")])
    header = " " * name_width + "".join(
        f"{i:>{width}}" for i in range(1, len(matrix.scenarios) + 1)
    )
    lines = [header.rstrip()]
    base = "".join(
        f"{'!' if s in matrix.baseline_failures else '.':>{width}}" for s in matrix.scenarios
    )
    failed = "  FAILED" if matrix.baseline_failures else ""
    lines.append(f"{'baseline':<{name_width}}{base}{failed}")
    for mutant in matrix.mutants:
        caught = set(mutant.caught_by)
        marks = "".join(f"{'x' if s in caught else '.':>{width}}" for s in matrix.scenarios)
        tail = "  SURVIVED" if mutant.survived else f"  {len(caught)}"
        lines.append(f"{mutant.name:<{name_width}}{marks}{tail}")
    lines.append("")
    lines.extend(f"{i:>{width}} {s}" for i, s in enumerate(matrix.scenarios, 1))
    lines.append("x caught the mutant   . did not   ! failed on the correct kernel")
    lines.append(_verdict_line(matrix))
    return "\n".join(lines) + "\n"


def _verdict_line(matrix: SelftestMatrix) -> str:
    caught = len(matrix.mutants) - len(matrix.survivors)
    line = f"{caught}/{len(matrix.mutants)} mutants caught"
    if matrix.survivors:
        line += "; SURVIVED: " + ", ".join(m.name for m in matrix.survivors)
    if matrix.baseline_failures:
        line += "; correct kernel failed: " + ", ".join(matrix.baseline_failures)
    return line
