"""The static HTML run report: `write_html` (and `write_selftest_html` for `harness selftest`).

One self-contained page per run: the overall verdict, counts, the scenario x repetition
matrix, measured facts against what the target was expected to do, timings drawn as bars,
and for every case that did not pass its message, violations and trace excerpts.
"""

from __future__ import annotations

import re
from pathlib import Path
from statistics import fmean

from harness.report.grid import Grid, case_name
from harness.report.page import chip, esc, href, write_page
from harness.report.palette import SEVERITY, look, worst
from harness.report.selftest_html import write_selftest_html
from harness.results.model import CaseResult, RunResult, Verdict

__all__ = ["write_html", "write_selftest_html"]


def write_html(run: RunResult, path: Path, *, crashes: str = "") -> None:
    """Write the report for `run` to `path`; links to traces stay relative to its directory.
    `crashes` is the crashes section (harness.report.crashes), when guests crashed."""
    grid = Grid.of(run)
    anchors = _anchors(grid)
    body = "\n".join(
        [
            _header(run),
            _counts(run),
            _matrix(grid, anchors),
            crashes,
            _facts(run, grid),
            _environments(run),
            _timings(grid),
            _details(grid, anchors),
            f"<footer>hotswap-harness {esc(run.harness_version or '')} · run "
            f"{esc(run.run_id)}</footer>",
        ]
    )
    write_page(path, f"hotswap run {run.run_id} on {run.target}", body)


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _anchors(grid: Grid) -> dict[tuple[str, int], str]:
    """A stable, unique fragment id per case, readable enough to paste into a chat."""
    out: dict[tuple[str, int], str] = {}
    for key in grid.cells:
        base = "case-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key[0]) + f"-{key[1]}"
        anchor, n = base, 1
        while anchor in out.values():
            n += 1
            anchor = f"{base}-{n}"
        out[key] = anchor
    return out


def _header(run: RunResult) -> str:
    overall = worst(c.verdict for c in run.cases)
    if overall is None:
        badge, word, note = "v-none", "NO CASES", "nothing ran"
    else:
        # The badge answers "can I ship?": red or green; the worst verdict says who acts.
        badge = "v-violation" if run.failed else "v-pass"
        word = "FAIL" if run.failed else "PASS"
        note = "worst: " + look(overall).label
    if not run.complete:  # a partial run never shows as a pass
        badge, word = "v-infra", "INTERRUPTED"
        note = f"only {len(run.cases)} case(s) ran; " + note
    meta = {
        "target": run.target,
        "seed": run.seed,
        "run id": run.run_id,
        "started": run.started,
        "duration": seconds(run.duration),
        "harness": run.harness_version or "unknown",
        "expected convention": run.expected_convention or "unspecified",
    }
    rows = "".join(f'<dt>{esc(k)}</dt><dd class="mono">{esc(v)}</dd>' for k, v in meta.items())
    return (
        '<header class="top"><div><h1>Hot-swap worker thread run</h1>'
        f'<dl class="meta">{rows}</dl></div>'
        f'<div class="badge {badge}"><span class="big">{word}</span>{esc(note)}</div></header>'
    )


def _counts(run: RunResult) -> str:
    counts = run.counts()
    chips = "".join(chip(v, counts[v]) for v in reversed(SEVERITY))
    n = len(run.cases)
    return f'<h2>Verdicts <span class="muted">({n} case{"" if n == 1 else "s"})</span></h2>' + (
        f'<div class="chips">{chips}</div>'
    )


def _cell(case: CaseResult | None, anchor: str) -> str:
    if case is None:
        return '<td class="cell v-none"><span>·</span></td>'
    shape = look(case.verdict)
    label = esc(f"{case.scenario} #{case.repetition}: {shape.label}")
    if case.verdict is Verdict.PASS:
        link = href(case.trace) if case.trace else ""
    else:
        link = f"#{anchor}"
    inner = f'<a href="{link}" title="{label}">' if link else f'<span title="{label}">'
    close = "</a>" if link else "</span>"
    return f'<td class="cell {shape.css}">{inner}{esc(shape.symbol)}{close}</td>'


def _matrix(grid: Grid, anchors: dict[tuple[str, int], str]) -> str:
    head = "".join(f'<th class="rot">#{rep}</th>' for rep in grid.repetitions)
    rows = []
    for scenario in grid.scenarios:
        cells = "".join(
            _cell(grid.cells.get((scenario, rep)), anchors.get((scenario, rep), ""))
            for rep in grid.repetitions
        )
        title = grid.title(scenario)
        rows.append(
            f"<tr><th><code>{esc(scenario)}</code>"
            + (f'<div class="muted">{esc(title)}</div>' if title else "")
            + f"</th>{cells}</tr>"
        )
    legend = " &nbsp; ".join(
        f'<span class="chip {look(v).css}">{esc(look(v).symbol)} {esc(look(v).label)}</span>'
        for v in reversed(SEVERITY)
    )
    return (
        "<h2>Matrix</h2>"
        f'<table class="matrix"><thead><tr><th>scenario <span class="muted">· repetition '
        f"&rarr;</span></th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<div class="legend">{legend} &nbsp; <span class="muted">click a cell for its '
        "details (failures) or its trace (passes)</span></div>"
    )


def _facts(run: RunResult, grid: Grid) -> str:
    expected = {"convention": run.expected_convention}
    grouped: dict[tuple[str, str, str], list[int]] = {}
    for (scenario, rep), case in grid.cells.items():
        for key, value in case.facts.items():
            grouped.setdefault((key, value, scenario), []).append(rep)
    if not grouped:
        return '<h2>Measured facts</h2><p class="muted">No scenario reported a measured fact.</p>'
    rows = []
    for (key, value, scenario), reps in sorted(grouped.items()):
        want = expected.get(key)
        differs = want is not None and value != want
        where = scenario + (f" (runs {', '.join(map(str, reps))})" if grid.repeated else "")
        row_class = ' class="differs"' if differs else ""
        rows.append(
            f"<tr{row_class}><td>{esc(key)}</td>"
            f'<td class="val mono">{esc(value)}</td><td class="mono">{esc(want or "—")}</td>'
            f"<td>{'differs from expected' if differs else ('as expected' if want else '')}"
            f"</td><td><code>{esc(where)}</code></td></tr>"
        )
    return (
        "<h2>Measured facts</h2><table><thead><tr><th>fact</th><th>measured</th>"
        "<th>expected</th><th>status</th><th>measured by</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _environments(run: RunResult) -> str:
    """What the cases ran on (a lab target's guest build, feature state, driver hashes),
    one table per distinct environment; nothing for targets that report none."""
    groups: dict[tuple[tuple[str, str], ...], list[CaseResult]] = {}
    for case in run.cases:
        if case.environment:
            same = tuple(sorted((k, v) for k, v in case.environment.items() if k != "machine"))
            groups.setdefault(same, []).append(case)
    tables = []
    for same, cases in groups.items():
        machines = sorted({c.environment.get("machine", "") for c in cases} - {""})
        rows = "".join(f'<tr><td>{esc(k)}</td><td class="mono">{esc(v)}</td></tr>' for k, v in same)
        tables.append(
            f"<p>{len(cases)} case(s) on {esc(', '.join(machines) or 'the target')}"
            f"</p><table><tbody>{rows}</tbody></table>"
        )
    if not tables:
        return ""
    return "<h2>Guest and driver</h2>" + "".join(tables)


def _timings(grid: Grid) -> str:
    stats = {s: [c.duration for c in grid.row(s)] for s in grid.scenarios}
    longest = max((fmean(d) for d in stats.values() if d), default=0.0) or 1.0
    rows = []
    for scenario, durations in stats.items():
        mean = fmean(durations) if durations else 0.0
        verdict = worst(c.verdict for c in grid.row(scenario)) or Verdict.PASS
        label = seconds(mean)
        if len(durations) > 1:
            label = f"mean {label} · max {seconds(max(durations))} · runs {len(durations)}"
        rows.append(
            f"<code>{esc(scenario)}</code>"
            f'<div class="bar"><span class="{look(verdict).css}" '
            f'style="width:{100 * mean / longest:.1f}%"></span></div>'
            f'<span class="mono muted">{esc(label)}</span>'
        )
    return f'<h2>Timings</h2><div class="bars">{"".join(rows)}</div>'


def _details(grid: Grid, anchors: dict[tuple[str, int], str]) -> str:
    # Most severe first: a crash is read before a skipped scenario.
    cases = sorted(
        (c for s in grid.scenarios for c in grid.row(s) if c.verdict is not Verdict.PASS),
        key=lambda c: SEVERITY.index(c.verdict),
    )
    if not cases:
        return "<h2>Details</h2><p>Every case passed.</p>"
    sections = [_detail(c, anchors[c.scenario, c.repetition], grid.repeated) for c in cases]
    return f'<h2>Details <span class="muted">({len(cases)} not passed)</span></h2>' + "".join(
        sections
    )


def _detail(case: CaseResult, anchor: str, repeated: bool) -> str:
    shape = look(case.verdict)
    parts = [
        f'<section class="case {shape.css}" id="{anchor}"><h3>{esc(shape.symbol)} '
        f"<code>{esc(case_name(case, repeated))}</code> — {esc(shape.label)} "
        f'<span class="muted">({seconds(case.duration)})</span></h3><div class="body">'
    ]
    if case.title:
        parts.append(f'<div class="muted">{esc(case.title)}</div>')
    if case.message:
        parts.append(f"<p>{esc(case.message)}</p>")
    for violation in case.violations:
        records = ", ".join(map(str, violation.records))
        parts.append(
            f'<div class="violation"><b>Invariant <code>{esc(violation.invariant)}</code></b>'
            f"<p>{esc(violation.message)}</p>"
            + (f'<div class="muted">records {esc(records)}</div>' if records else "")
            + (f"<pre>{esc(chr(10).join(violation.excerpt))}</pre>" if violation.excerpt else "")
            + "</div>"
        )
    if case.trace:
        parts.append(f'<p>Trace: <a href="{href(case.trace)}">{esc(case.trace)}</a></p>')
    parts.append("</div></section>")
    return "".join(parts)
