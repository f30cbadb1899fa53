"""The selftest matrix: which scenarios caught which simulator mutant, and by which judge.

`harness selftest` runs the suite on the correct simulator (the baseline, which must pass)
and twice on every mutant: once with the scenarios' own assertions off, so only the checker
(and crash detection) can catch it, and once with every invariant off, so only the
assertions can. On a real kernel the checker is the only judge, so a mutant that only an
assertion catches fails the selftest as surely as one nobody catches. The mutation score is
the share of mutants the checker alone catches.
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
    """Scenarios whose trace the checker found violations in (or that crashed the guest),
    with the scenarios' own assertions off."""
    asserted_by: list[str] = []
    """Scenarios whose own assertions failed, with every invariant off."""
    verdicts: dict[str, Verdict] = {}
    """Each scenario's verdict with the assertions off (the checker's judgement)."""
    invariants: list[str] = []
    """The invariants that reported it (`(crash)` when the guest crashed)."""

    @property
    def survived(self) -> bool:
        return not self.caught_by and not self.asserted_by

    @property
    def assertion_only(self) -> bool:
        """Caught by an assertion, never by the checker: a real kernel would get away."""
        return not self.caught_by and bool(self.asserted_by)


class SelftestMatrix(msgspec.Struct, kw_only=True):
    mutants: list[MutantRow]
    scenarios: list[str]
    """Column order."""
    baseline: dict[str, Verdict] = {}
    """Each scenario's verdict on the correct simulator (assertions and checker on)."""
    seconds: float = 0.0
    """Wall time of the whole selftest."""

    @property
    def survivors(self) -> list[MutantRow]:
        return [m for m in self.mutants if m.survived]

    @property
    def assertion_only(self) -> list[MutantRow]:
        return [m for m in self.mutants if m.assertion_only]

    @property
    def baseline_failures(self) -> list[str]:
        return [s for s in self.scenarios if s in self.baseline and self.baseline[s].failed]

    @property
    def score(self) -> tuple[int, int]:
        """Mutants the checker alone catches, and all mutants."""
        return sum(bool(m.caught_by) for m in self.mutants), len(self.mutants)

    @property
    def ok(self) -> bool:
        """The correct kernel fails nothing and the checker alone catches every mutant."""
        return not self.baseline_failures and self.score[0] == self.score[1]


def render_selftest_text(matrix: SelftestMatrix) -> str:
    """A compact terminal matrix: mutants down, scenarios across under numbered headers.

    `x` marks a scenario whose trace the checker caught the mutant in, `a` one whose own
    assertion (and not the checker) caught it, `E` one that ended in an infrastructure error
    (the mutant was not judged there), `.` neither; on the baseline row `!` marks a
    scenario that failed on the correct kernel. A legend maps numbers to ids.
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
        caught, asserted = set(mutant.caught_by), set(mutant.asserted_by)
        broken = {s for s, v in mutant.verdicts.items() if v is Verdict.INFRA}
        marks = "".join(f"{_mark(s, caught, asserted, broken):>{width}}" for s in matrix.scenarios)
        if mutant.survived and broken:  # not judged where the machine failed: say so
            tail = f"  SURVIVED ({len(broken)} infrastructure error{'s' * (len(broken) > 1)})"
        elif mutant.survived:
            tail = "  SURVIVED"
        elif mutant.assertion_only:
            tail = "  ASSERTION ONLY"
        else:
            tail = f"  {len(caught)}"
        lines.append(f"{mutant.name:<{name_width}}{marks}{tail}")
    lines.append("")
    lines.extend(f"{i:>{width}} {s}" for i, s in enumerate(matrix.scenarios, 1))
    lines.append("")
    lines.extend(
        f"{m.name:<{name_width}}  {', '.join(m.invariants) or '-'}" for m in matrix.mutants
    )
    lines.append(
        "x the checker caught the mutant   a only an assertion did   . neither   "
        "E infrastructure error   ! failed on the correct kernel"
    )
    lines.append(_verdict_line(matrix))
    return "\n".join(lines) + "\n"


def _mark(scenario: str, caught: set[str], asserted: set[str], broken: set[str]) -> str:
    if scenario in caught:
        return "x"
    if scenario in asserted:
        return "a"
    return "E" if scenario in broken else "."


def _verdict_line(matrix: SelftestMatrix) -> str:
    caught, total = matrix.score
    line = f"mutation score {caught}/{total}: mutants the checker alone catches"
    if matrix.seconds:
        line += f" ({matrix.seconds:.1f} s)"
    if matrix.assertion_only:
        line += "; ONLY AN ASSERTION CAUGHT: " + ", ".join(m.name for m in matrix.assertion_only)
    if matrix.survivors:
        line += "; SURVIVED: " + ", ".join(m.name for m in matrix.survivors)
    if matrix.baseline_failures:
        line += "; correct kernel failed: " + ", ".join(matrix.baseline_failures)
    return line
