"""The selftest sign-off page: `write_selftest_html` draws mutants x scenarios as one matrix.

Catching is the good outcome here, so a caught cell is filled with the verdict the scenario
gave the mutant, an uncaught one stays blank, and a row nobody caught is marked SURVIVED.
"""

from __future__ import annotations

from pathlib import Path

from harness.report.page import esc, write_page
from harness.report.palette import look
from harness.results.model import Verdict
from harness.results.selftest import MutantRow, SelftestMatrix

__all__ = ["write_selftest_html"]


def write_selftest_html(matrix: SelftestMatrix, path: Path) -> None:
    """Write the selftest matrix as one self-contained HTML page to `path`."""
    body = "\n".join([_header(matrix), _table(matrix), _legend()])
    write_page(path, "hotswap-harness selftest", body)


def _header(matrix: SelftestMatrix) -> str:
    caught, total = matrix.score
    badge, word = ("v-pass", "PASS") if matrix.ok else ("v-violation", "FAIL")
    notes = [f"mutation score {caught}/{total}: mutants the checker alone catches"]
    if matrix.assertion_only:
        notes.append(
            "caught only by a scenario assertion: "
            + ", ".join(m.name for m in matrix.assertion_only)
        )
    if matrix.survivors:
        notes.append("survived: " + ", ".join(m.name for m in matrix.survivors))
    if matrix.baseline_failures:
        notes.append("correct kernel failed: " + ", ".join(matrix.baseline_failures))
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return (
        '<header class="top"><div><h1>Selftest: does the suite catch known kernel bugs?</h1>'
        f'<ul class="muted">{items}</ul></div>'
        f'<div class="badge {badge}"><span class="big">{word}</span></div></header>'
    )


def _verdict_cell(verdict: Verdict | None, mark: bool) -> str:
    if verdict is None or not mark:
        title = esc(look(verdict).label) if verdict else "not run"
        return f'<td class="cell v-none"><span title="{title}">·</span></td>'
    shape = look(verdict)
    return (
        f'<td class="cell {shape.css}"><span title="{esc(shape.label)}">'
        f"{esc(shape.symbol)}</span></td>"
    )


def _mutant_row(mutant: MutantRow, scenarios: list[str]) -> str:
    caught = set(mutant.caught_by)
    cells = "".join(_verdict_cell(mutant.verdicts.get(s), s in caught) for s in scenarios)
    if mutant.survived:
        status = '<td class="v-violation"><b>SURVIVED</b></td>'
    elif mutant.assertion_only:
        status = f'<td class="v-violation"><b>ASSERTION ONLY</b> ({len(mutant.asserted_by)})</td>'
    else:
        status = f'<td class="v-pass">checker: {len(caught)}</td>'
    description = mutant.description and f'<div class="muted">{esc(mutant.description)}</div>'
    row_class = ' class="survived"' if not caught else ""
    name = f"<th><code>{esc(mutant.name)}</code>{description}</th>"
    return f"<tr{row_class}>{name}{cells}{status}</tr>"


def _table(matrix: SelftestMatrix) -> str:
    head = "".join(f'<th class="vert"><code>{esc(s)}</code></th>' for s in matrix.scenarios)
    failures = set(matrix.baseline_failures)
    # On the correct kernel every verdict is shown: a pass there is the expected outcome.
    baseline = "".join(_verdict_cell(matrix.baseline.get(s), True) for s in matrix.scenarios)
    status = (
        '<td class="v-violation"><b>FAILED</b></td>' if failures else '<td class="v-pass">ok</td>'
    )
    rows = [f'<tr class="baseline"><th>correct kernel</th>{baseline}{status}</tr>']
    rows += [_mutant_row(m, matrix.scenarios) for m in matrix.mutants]
    return (
        '<h2>Mutants &times; scenarios</h2><table class="matrix selftest">'
        "<thead><tr><th>mutant</th>"
        f"{head}<th>result</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _legend() -> str:
    return (
        '<p class="legend muted">A filled cell is a scenario that failed on that kernel '
        "(for a mutant: the checker caught it with the scenarios' own assertions off), "
        "coloured by its verdict; · means it passed. The top row is the correct simulator, "
        "where every scenario must pass. A mutant only a scenario assertion catches fails the "
        "selftest: on a real kernel the checker is the only judge.</p>"
    )
