"""The static HTML dashboard over the results store: last night's matrix, pass-rate trends per
scenario and per build (plotly figures, its JavaScript inlined so the page loads nothing),
the flaky list and the crash buckets. Every number is in an element a test can find by id
or data attribute (tests/unit/nightly/test_dashboard.py reads them in a real browser)."""

from __future__ import annotations

from pathlib import Path

from harness.nightly.board import VERDICTS, Board, Trend
from harness.report.page import esc, write_page

__all__ = ["write_dashboard"]

_CLASS = {
    "pass": "v-pass",
    "violation": "v-violation",
    "not_applicable": "v-na",
    "infrastructure_error": "v-infra",
    "crash": "v-crash",
}


def _figure(div: str, title: str, trends: list[Trend], runs: list[str]) -> str:
    import plotly.graph_objects as go

    fig = go.Figure()
    for trend in trends:
        fig.add_trace(
            go.Scatter(x=trend.runs, y=trend.rates, name=trend.name, mode="lines+markers")
        )
    fig.update_layout(
        title=title,
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 90},
        yaxis={"title": "pass rate", "range": [-0.05, 1.05]},
        xaxis={"title": "run", "type": "category", "categoryarray": runs},
    )
    html: str = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div, config={"displaylogo": False}
    )
    return html


def _matrix(b: Board) -> str:
    head = "".join(f"<th>{esc(v)}</th>" for v in VERDICTS)
    rows = []
    for row in b.matrix:
        counts = "".join(
            f'<td class="num" data-cell="{esc(row.cell)}" data-verdict="{v}">{row.counts[v]}</td>'
            for v in VERDICTS
        )
        rows.append(
            f"<tr><th><code>{esc(row.cell)}</code></th>"
            f'<td class="{_CLASS.get(row.verdict, "v-none")}">{esc(row.verdict)}</td>'
            f"{counts}<td>{esc(row.machine)}</td><td>{row.attempts}</td></tr>"
        )
    totals = "".join(f'<td class="num" id="total-{v}">{b.totals[v]}</td>' for v in VERDICTS)
    return (
        f'<table id="matrix"><thead><tr><th>cell</th><th>verdict</th>{head}<th>machine'
        f"</th><th>attempts</th></tr></thead><tbody>{''.join(rows)}</tbody><tfoot><tr>"
        f"<th>total</th><td></td>{totals}<td></td><td></td></tr></tfoot></table>"
    )


def _flaky(b: Board) -> str:
    if not b.flaky:
        return '<p id="flaky">none: no verdict changed while its inputs stayed the same</p>'
    rows = "".join(
        f"<tr><td><code>{esc(f.cell)}</code></td><td>{esc(f.scenario)}"
        f'#{f.repetition}</td><td class="num">{f.flips}</td>'
        f"<td>{esc(', '.join(f.verdicts))}</td><td>{esc(', '.join(f.runs))}</td></tr>"
        for f in b.flaky
    )
    return (
        '<table id="flaky"><thead><tr><th>cell</th><th>scenario</th><th>flips</th>'
        f"<th>verdicts</th><th>runs</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _buckets(b: Board) -> str:
    if not b.buckets:
        return '<p id="buckets">none</p>'
    rows = "".join(
        f"<tr><td><code>{esc(x.id)}</code></td><td>{esc(x.title)}</td>"
        f'<td class="num" data-bucket="{esc(x.id)}">{x.count}</td>'
        f"<td>{esc(state)}</td><td>{esc(x.last_seen)}</td>"
        f"<td>{esc(', '.join(x.driver_builds))}</td></tr>"
        for x, state in b.buckets
    )
    return (
        '<table id="buckets"><thead><tr><th>bucket</th><th>signature</th><th>crashes</th>'
        f"<th>state</th><th>last seen</th><th>driver builds</th></tr></thead><tbody>{rows}"
        "</tbody></table>"
    )


def write_dashboard(b: Board, path: Path) -> None:
    import plotly.offline

    runs = [r.id for r in b.runs]
    last = (
        (
            f'run <code id="last-run">{esc(b.last.id)}</code> of plan {esc(b.last.plan)}, '
            f"started {esc(b.last.started)}, {esc(b.last.state)}"
        )
        if b.last
        else "no runs yet"
    )
    body = "\n".join(
        [
            f"<script>{plotly.offline.get_plotlyjs()}</script>",
            "<h1>Nightly dashboard</h1>",
            f'<p class="muted">{last}; trends over {len(runs)} run(s)</p>',
            "<h2>Last night</h2>",
            _matrix(b),
            "<h2>Trends per scenario</h2>",
            _figure("trend-scenario", "pass rate per scenario", b.scenarios, runs),
            "<h2>Trends per build</h2>",
            _figure("trend-build", "pass rate per driver build", b.builds, runs),
            "<h2>Flaky</h2>",
            _flaky(b),
            "<h2>Crash buckets</h2>",
            _buckets(b),
        ]
    )
    write_page(path, "nightly dashboard", body)
