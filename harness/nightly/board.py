"""What the dashboard shows, read from the results store as typed data: the last run's matrix
(each cell's verdict counts), pass rates per scenario and per build over the last runs, the
flaky series, and the crash buckets with their state. The page (harness.nightly.dashboard)
only renders this, so a test can compare the page with these numbers and these with the
store."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from harness.store import schema as t
from harness.store.history import Flaky, history
from harness.store.results import ResultsStore
from harness.store.rows import RunRow
from harness.triage.store import Bucket

__all__ = ["Board", "MatrixRow", "Trend", "board"]

VERDICTS = ("pass", "violation", "not_applicable", "infrastructure_error", "crash")
_OK = ("pass", "not_applicable")


class MatrixRow(msgspec.Struct, kw_only=True):
    cell: str
    verdict: str
    """The cell's verdict (the worst of its cases), or its state when it did not finish."""
    counts: dict[str, int]
    machine: str
    attempts: int


class Trend(msgspec.Struct, kw_only=True):
    """Pass rate (pass or not applicable, per counted result) of one series per run."""

    name: str
    runs: list[str]
    rates: list[float]


class Board(msgspec.Struct, kw_only=True):
    last: RunRow | None
    matrix: list[MatrixRow]
    totals: dict[str, int]
    runs: list[RunRow]
    """The runs the trends cover, oldest first."""
    scenarios: list[Trend]
    builds: list[Trend]
    flaky: list[Flaky]
    buckets: list[tuple[Bucket, str]]
    """Each crash bucket and its state (open / closed)."""


def _matrix(store: ResultsStore, run_id: str) -> list[MatrixRow]:
    r, c = t.result, t.cell
    counts: dict[int, dict[str, int]] = {}
    q = (
        sa.select(r.c.cell_id, r.c.verdict, sa.func.count())
        .where(r.c.run_id == run_id, r.c.final.is_(True))
        .group_by(r.c.cell_id, r.c.verdict)
    )
    for cell_id, verdict, n in store.read(q):
        counts.setdefault(cell_id, dict.fromkeys(VERDICTS, 0))[verdict] = n
    rows = store.read(sa.select(c).where(c.c.run_id == run_id).order_by(c.c.id))
    return [
        MatrixRow(
            cell=x.key,
            verdict=x.verdict or x.state,
            counts=counts.get(x.id, dict.fromkeys(VERDICTS, 0)),
            machine=x.machine or "",
            attempts=x.attempts,
        )
        for x in rows
    ]


def _trends(store: ResultsStore, run_ids: list[str], column: sa.ColumnElement[str]) -> list[Trend]:
    r, c = t.result, t.cell
    ok = sa.func.sum(sa.case((r.c.verdict.in_(_OK), 1), else_=0))
    q = (
        sa.select(column.label("name"), r.c.run_id, ok, sa.func.count())
        .select_from(r.join(c, c.c.id == r.c.cell_id))
        .where(r.c.final.is_(True), r.c.run_id.in_(run_ids))
        .group_by(column, r.c.run_id)
    )
    series: dict[str, dict[str, float]] = {}
    for name, run_id, passed, total in store.read(q):
        series.setdefault(name, {})[run_id] = round(int(passed) / int(total), 4)
    return [
        Trend(
            name=name,
            runs=[x for x in run_ids if x in by_run],
            rates=[by_run[x] for x in run_ids if x in by_run],
        )
        for name, by_run in sorted(series.items())
    ]


def board(store: ResultsStore, plan: str | None = None, runs: int = 30) -> Board:
    """The dashboard's data: the newest run of `plan` (or of any plan) and trends over the
    last `runs` runs."""
    recent = list(reversed(store.runs(plan, limit=runs)))
    last = recent[-1] if recent else None
    matrix = _matrix(store, last.id) if last else []
    totals = dict.fromkeys(VERDICTS, 0)
    for row in matrix:
        for verdict, n in row.counts.items():
            totals[verdict] += n
    ids = [r.id for r in recent]
    closed = {x.bucket: x.state for x in store.read(sa.select(t.bucket_state))}
    return Board(
        last=last,
        matrix=matrix,
        totals=totals,
        runs=recent,
        scenarios=_trends(store, ids, t.result.c.scenario),
        builds=_trends(store, ids, t.cell.c.build),
        flaky=history(store, plan=plan, runs=runs).flaky,
        buckets=[(b, closed.get(b.id, "open")) for b in store.crashes.buckets()],
    )
