"""`ResultsStore`: runs, cells, attempts and scenario results written and read through
SQLAlchemy Core, on SQLite or PostgreSQL alike.

Every write is one transaction and idempotent (a result is keyed by attempt, scenario and
repetition), so a write retried after a lost connection never stores a result twice, and a
process killed between two writes leaves the store consistent: an attempt still `running`
with no live owner is abandoned (its partial results deleted) when the cell is tried again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa

from harness.errors import InfrastructureError
from harness.plan.model import Cell
from harness.results.model import CaseResult, Verdict
from harness.store import schema as t
from harness.store.crashes import ResultsCrashStore
from harness.store.rows import CellRow, Inputs, RunRow, now

__all__ = ["AttemptLostError", "ResultsStore", "worst"]

R = TypeVar("R")
# a cell that passed where the feature applies and was not applicable elsewhere passed
_ORDER = [Verdict.NOT_APPLICABLE, Verdict.PASS, Verdict.INFRA, Verdict.VIOLATION, Verdict.CRASH]
_RETRY_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)


def worst(verdicts: Iterable[str]) -> str | None:
    """The verdict that matters most among `verdicts`: crash > violation > infrastructure
    error > pass > not applicable."""
    ranked = [_ORDER.index(Verdict(v)) for v in verdicts]
    return _ORDER[max(ranked)].value if ranked else None


class AttemptLostError(InfrastructureError):
    """The attempt no longer counts: another worker took its cell over (its worker was taken
    for dead) or finished it. Nothing of it is written any more."""


def _still_running(c: sa.Connection, attempt_id: int) -> int:
    """The attempt's cell, if the attempt is still running; else AttemptLostError."""
    row = c.execute(
        sa.select(t.attempt.c.cell_id, t.attempt.c.state)
        .where(t.attempt.c.id == attempt_id)
        .with_for_update()
    ).one()
    if row.state != "running":
        raise AttemptLostError(
            f"attempt {attempt_id} was {row.state}: another worker took its cell over"
        )
    return int(row.cell_id)


class ResultsStore:
    """One results store (see harness.store.schema for what it keeps)."""

    def __init__(self, engine: sa.Engine, *, patience: float = 120.0) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.patience = patience
        """Seconds a write keeps retrying a lost connection before it gives up."""
        self.crashes = ResultsCrashStore(self)
        self._encode = msgspec.json.Encoder()

    # -- plumbing -------------------------------------------------------------------------

    def write(self, fn: Callable[[sa.Connection], R]) -> R:
        """Run `fn` in one transaction; a lost connection is retried until `patience` runs
        out (every write is idempotent, so a retry after a commit whose answer was lost
        changes nothing)."""
        deadline = time.monotonic() + self.patience
        delay = 0.2
        while True:
            try:
                with self.engine.begin() as connection:
                    return fn(connection)
            except _RETRY_ERRORS as e:
                if time.monotonic() + delay > deadline:
                    raise InfrastructureError(
                        f"store {self.url}: lost the database connection and could not get it "
                        f"back in {self.patience:g} s ({str(e.orig).strip()[:120]}); nothing "
                        "written is lost: resume the run once the database is back"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def read(self, statement: Any, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(statement, params).all())

    def close(self) -> None:
        self.engine.dispose()

    # -- runs and cells -------------------------------------------------------------------

    def begin_run(self, run: RunRow, cells: list[Cell]) -> None:
        """Record a new run and every cell it will run (pending), in one transaction."""

        def go(c: sa.Connection) -> None:
            c.execute(t.run.insert().values(**msgspec.structs.asdict(run)))
            for cell in cells:
                self._record_build(c, cell.build_id, cell.driver)
            c.execute(
                t.cell.insert(),
                [
                    {
                        "run_id": run.id,
                        "key": x.key,
                        "target": x.target,
                        "spec": x.spec,
                        "kind": x.kind,
                        "build": x.build,
                        "build_id": x.build_id,
                        "convention": x.convention,
                        "selection": x.selection,
                        "keyword": x.keyword,
                        "repeat": x.repeat,
                        "seed": x.seed,
                        "required": x.required,
                        "state": "pending",
                        "attempts": 0,
                    }
                    for x in cells
                ],
            )

        self.write(go)

    def _record_build(self, c: sa.Connection, build_id: str, files: Mapping[str, str]) -> None:
        known = {
            r.name
            for r in c.execute(
                sa.select(t.driver_file.c.name).where(t.driver_file.c.build_id == build_id)
            )
        }
        rows = [
            {"build_id": build_id, "name": n, "sha256": h}
            for n, h in files.items()
            if n not in known
        ]
        if rows:
            c.execute(t.driver_file.insert(), rows)

    def driver_files(self, build_id: str) -> dict[str, str]:
        rows = self.read(
            sa.select(t.driver_file.c.name, t.driver_file.c.sha256).where(
                t.driver_file.c.build_id == build_id
            )
        )
        return {r.name: r.sha256 for r in rows}

    def run(self, run_id: str) -> RunRow | None:
        rows = self.read(sa.select(t.run).where(t.run.c.id == run_id))
        return RunRow(**rows[0]._asdict()) if rows else None

    def runs(
        self, plan: str | None = None, *, state: str | None = None, limit: int = 1000
    ) -> list[RunRow]:
        """Runs, newest first."""
        q = sa.select(t.run).order_by(t.run.c.started.desc(), t.run.c.id.desc()).limit(limit)
        if plan is not None:
            q = q.where(t.run.c.plan == plan)
        if state is not None:
            q = q.where(t.run.c.state == state)
        return [RunRow(**r._asdict()) for r in self.read(q)]

    def finish_run(self, run_id: str, state: str) -> None:
        self.write(
            lambda c: c.execute(
                t.run.update().where(t.run.c.id == run_id).values(state=state, finished=now())
            )
        )

    def reopen_run(self, run_id: str) -> None:
        self.write(
            lambda c: c.execute(
                t.run.update().where(t.run.c.id == run_id).values(state="running", finished=None)
            )
        )

    def cell(self, cell_id: int) -> CellRow | None:
        rows = self.read(sa.select(t.cell).where(t.cell.c.id == cell_id))
        return CellRow(**rows[0]._asdict()) if rows else None

    def cells(self, run_id: str) -> list[CellRow]:
        rows = self.read(sa.select(t.cell).where(t.cell.c.run_id == run_id).order_by(t.cell.c.id))
        return [CellRow(**r._asdict()) for r in rows]

    # -- attempts and results -------------------------------------------------------------

    def start_attempt(self, cell_id: int, machine: str) -> int:
        """A new attempt of a cell on `machine`. An attempt left `running` by a process that
        died is abandoned first, and its partial results deleted: they never counted."""

        def go(c: sa.Connection) -> int:
            # the cell's row locked: attempts of one cell start one at a time
            state = c.execute(
                sa.select(t.cell.c.state).where(t.cell.c.id == cell_id).with_for_update()
            ).scalar_one()
            if state == "done":
                raise AttemptLostError(
                    f"cell {cell_id} is already done (another worker finished it)"
                )
            stale = [
                r.id
                for r in c.execute(
                    sa.select(t.attempt.c.id).where(
                        t.attempt.c.cell_id == cell_id, t.attempt.c.state == "running"
                    )
                )
            ]
            if stale:
                self._delete_results(c, stale)
                c.execute(
                    t.attempt.update()
                    .where(t.attempt.c.id.in_(stale))
                    .values(state="abandoned", finished=now(), error="its process died")
                )
            number = (
                c.execute(
                    sa.select(sa.func.coalesce(sa.func.max(t.attempt.c.number), 0)).where(
                        t.attempt.c.cell_id == cell_id
                    )
                ).scalar_one()
                + 1
            )
            ident = c.execute(
                t.attempt.insert()
                .values(
                    cell_id=cell_id, number=number, machine=machine, state="running", started=now()
                )
                .returning(t.attempt.c.id)
            ).scalar_one()
            c.execute(
                t.cell.update()
                .where(t.cell.c.id == cell_id)
                .values(state="running", attempts=number, machine=machine)
            )
            return int(ident)

        return self.write(go)

    def _delete_results(self, c: sa.Connection, attempts: list[int]) -> None:
        ids = sa.select(t.result.c.id).where(t.result.c.attempt_id.in_(attempts))
        c.execute(t.violation.delete().where(t.violation.c.result_id.in_(ids)))
        c.execute(t.result.delete().where(t.result.c.attempt_id.in_(attempts)))

    def add_result(
        self, run_id: str, cell_id: int, attempt_id: int, case: CaseResult, inputs: Inputs
    ) -> None:
        """Record one scenario result of an attempt (once, however often it is called)."""
        self.write(lambda c: self._insert_result(c, run_id, cell_id, attempt_id, case, inputs))

    def add_results(
        self, run_id: str, cell_id: int, attempt_id: int, cases: list[tuple[CaseResult, Inputs]]
    ) -> None:
        """Record many results of an attempt in one transaction."""

        def go(c: sa.Connection) -> None:
            for case, inputs in cases:
                self._insert_result(c, run_id, cell_id, attempt_id, case, inputs)

        self.write(go)

    def _insert_result(
        self,
        c: sa.Connection,
        run_id: str,
        cell_id: int,
        attempt_id: int,
        case: CaseResult,
        inputs: Inputs,
    ) -> None:
        _still_running(c, attempt_id)
        exists = c.execute(
            sa.select(t.result.c.id).where(
                t.result.c.attempt_id == attempt_id,
                t.result.c.scenario == case.scenario,
                t.result.c.repetition == case.repetition,
            )
        ).first()
        if exists:
            return
        ident = c.execute(
            t.result.insert()
            .values(
                run_id=run_id,
                cell_id=cell_id,
                attempt_id=attempt_id,
                scenario=case.scenario,
                repetition=case.repetition,
                verdict=case.verdict.value,
                duration=case.duration,
                message=case.message,
                trace=case.trace,
                guest_build=inputs.guest_build,
                driver_hash=inputs.driver_hash,
                harness_version=inputs.harness_version,
                convention=case.facts.get("convention"),
                feature=case.facts.get("feature") or case.environment.get("feature"),
                facts=self._encode.encode(
                    {**case.facts, **{f"environment.{k}": v for k, v in case.environment.items()}}
                ).decode(),
                final=False,
            )
            .returning(t.result.c.id)
        ).scalar_one()
        if case.violations:
            c.execute(
                t.violation.insert(),
                [
                    {
                        "result_id": ident,
                        "invariant": v.invariant,
                        "message": v.message,
                        "records": self._encode.encode(list(v.records)).decode(),
                    }
                    for v in case.violations
                ],
            )

    def finish_attempt(self, attempt_id: int, *, final: bool, error: str | None = None) -> None:
        """End an attempt: `final` makes its results the cell's (the cell is done); else the
        cell goes back to pending for another attempt and these results never count."""

        def go(c: sa.Connection) -> None:
            cell_id = _still_running(c, attempt_id)
            c.execute(
                t.attempt.update()
                .where(t.attempt.c.id == attempt_id)
                .values(state="final" if final else "retried", finished=now(), error=error)
            )
            if not final:
                c.execute(t.cell.update().where(t.cell.c.id == cell_id).values(state="pending"))
                return
            c.execute(
                t.result.update().where(t.result.c.attempt_id == attempt_id).values(final=True)
            )
            verdicts = [
                r.verdict
                for r in c.execute(
                    sa.select(t.result.c.verdict).where(t.result.c.attempt_id == attempt_id)
                )
            ]
            verdict = worst(verdicts) or (Verdict.INFRA.value if error else None)
            c.execute(
                t.cell.update().where(t.cell.c.id == cell_id).values(state="done", verdict=verdict)
            )

        self.write(go)

    def attempt_verdicts(self, attempt_id: int) -> list[str]:
        return [
            r.verdict
            for r in self.read(
                sa.select(t.result.c.verdict).where(t.result.c.attempt_id == attempt_id)
            )
        ]
