"""A scenario's verdicts over runs, and what their changes mean.

A series is one scenario in one cell (target/build/convention/selection) at one repetition,
run after run. Where its verdict changes:
- with the same inputs (guest build, driver hash, harness version) as the run before, the
  scenario is **flaky**: nothing it depends on changed, yet its verdict did;
- with an input changed, it is a **regression** (or a fix), and the first run of the new
  verdict and the inputs that changed are named: the suspects.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import msgspec
import sqlalchemy as sa

from harness.store import schema as t
from harness.store.results import ResultsStore
from harness.store.rows import Inputs

__all__ = ["Change", "Entry", "Flaky", "Verdicts", "analyse", "history"]

_OK = {"pass", "not_applicable"}


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    cell: str
    scenario: str
    repetition: int
    verdict: str
    inputs: Inputs

    @property
    def series(self) -> tuple[str, str, int]:
        return (self.cell, self.scenario, self.repetition)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """A verdict that changed with its inputs: a regression (ok -> failing) or a fix."""

    cell: str
    scenario: str
    repetition: int
    before: str
    after: str
    first_run: str
    """The first run with the new verdict."""
    last_run_before: str
    suspects: tuple[str, ...]
    """`input: old -> new` for each input that changed between the two runs."""

    @property
    def regression(self) -> bool:
        return self.before in _OK and self.after not in _OK


class Flaky(msgspec.Struct, frozen=True, kw_only=True):
    """A series whose verdict changed while its inputs did not."""

    cell: str
    scenario: str
    repetition: int
    flips: int
    verdicts: tuple[str, ...]
    runs: tuple[str, ...]
    """The runs where it flipped."""


class Verdicts(msgspec.Struct, kw_only=True):
    entries: list[Entry]
    flaky: list[Flaky]
    changes: list[Change]


def history(
    store: ResultsStore,
    scenario: str | None = None,
    *,
    build: str | None = None,
    plan: str | None = None,
    runs: int = 30,
) -> Verdicts:
    """Counted verdicts of the last `runs` runs (of `plan`), oldest first, analysed."""
    r, c, run = t.result, t.cell, t.run
    last = sa.select(run.c.id).order_by(run.c.started.desc()).limit(runs)
    if plan is not None:
        last = last.where(run.c.plan == plan)
    q = (
        sa.select(
            r.c.run_id,
            c.c.key,
            r.c.scenario,
            r.c.repetition,
            r.c.verdict,
            r.c.guest_build,
            r.c.driver_hash,
            r.c.harness_version,
        )
        .select_from(r.join(c, c.c.id == r.c.cell_id).join(run, run.c.id == r.c.run_id))
        .where(r.c.final.is_(True), r.c.run_id.in_(last.scalar_subquery()))
        .order_by(run.c.started, run.c.id, c.c.key, r.c.scenario, r.c.repetition)
    )
    if scenario is not None:
        q = q.where(r.c.scenario == scenario)
    if build is not None:
        q = q.where(sa.or_(c.c.build == build, c.c.build_id == build))
    inputs: dict[tuple[str, str, str], Inputs] = {}  # a few distinct ones among many rows
    entries = []
    for run_id, key, name, rep, verdict, guest, driver, version in store.read(q):
        given = inputs.get((guest, driver, version))
        if given is None:
            given = inputs[(guest, driver, version)] = Inputs(
                guest_build=guest, driver_hash=driver, harness_version=version
            )
        entries.append(
            Entry(
                run_id=run_id,
                cell=key,
                scenario=name,
                repetition=rep,
                verdict=verdict,
                inputs=given,
            )
        )
    flaky, changes = analyse(entries)
    return Verdicts(entries=entries, flaky=flaky, changes=changes)


def analyse(entries: Iterable[Entry]) -> tuple[list[Flaky], list[Change]]:
    """Flaky series and input-driven changes among `entries` (oldest first)."""
    series: dict[tuple[str, str, int], list[Entry]] = {}
    for entry in entries:
        series.setdefault(entry.series, []).append(entry)
    flaky, changes = [], []
    for (cell, scenario, rep), run in series.items():
        flips: list[str] = []
        for before, after in itertools.pairwise(run):
            if before.verdict == after.verdict:
                continue
            if before.inputs == after.inputs:
                flips.append(after.run_id)
                continue
            changes.append(
                Change(
                    cell=cell,
                    scenario=scenario,
                    repetition=rep,
                    before=before.verdict,
                    after=after.verdict,
                    first_run=after.run_id,
                    last_run_before=before.run_id,
                    suspects=tuple(after.inputs.differences(before.inputs)),
                )
            )
        if flips:
            flaky.append(
                Flaky(
                    cell=cell,
                    scenario=scenario,
                    repetition=rep,
                    flips=len(flips),
                    verdicts=tuple(sorted({e.verdict for e in run})),
                    runs=tuple(flips),
                )
            )
    return flaky, changes
