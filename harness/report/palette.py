"""How each verdict looks: symbol, label, CSS class and terminal colour, shared by every report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from harness.results.model import Verdict

__all__ = ["SEVERITY", "Look", "look", "worst"]


class Look(NamedTuple):
    symbol: str
    label: str
    css: str
    """CSS class of a cell or chip in the HTML reports."""
    ansi: str
    """SGR parameters for a colour terminal."""


_LOOKS: dict[Verdict, Look] = {
    Verdict.PASS: Look("✓", "pass", "v-pass", "32"),
    Verdict.VIOLATION: Look("✗", "violation", "v-violation", "1;31"),
    Verdict.NOT_APPLICABLE: Look("\u2013", "not applicable", "v-na", "90"),
    Verdict.INFRA: Look("!", "infrastructure error", "v-infra", "1;33"),
    Verdict.CRASH: Look("☠", "crash", "v-crash", "1;35"),
}

SEVERITY: tuple[Verdict, ...] = (
    Verdict.CRASH,
    Verdict.VIOLATION,
    Verdict.INFRA,
    Verdict.NOT_APPLICABLE,
    Verdict.PASS,
)
"""Most to least severe: a crash outranks a violation, which outranks our own infra trouble."""


def look(verdict: Verdict) -> Look:
    return _LOOKS[verdict]


def worst(verdicts: Iterable[Verdict]) -> Verdict | None:
    """The most severe verdict present, or None when there is none."""
    present = set(verdicts)
    return next((v for v in SEVERITY if v in present), None)
