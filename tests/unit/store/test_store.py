"""The results store on both backends: migrations, the schema version check, idempotent
writes, attempts that count or not, and crashes through the triage CrashStore Protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from harness.errors import ConfigError, InputError
from harness.plan.model import Cell
from harness.results.model import CaseResult, Verdict, ViolationInfo
from harness.store import open_results_store
from harness.store.engine import HEAD, schema_version
from harness.store.results import ResultsStore
from harness.store.rows import Inputs, RunRow, now
from harness.store.schema import metadata
from harness.triage.model import Crash
from harness.triage.store import CrashStore, Occurrence

INPUTS = Inputs(guest_build="sim", driver_hash="sim-model", harness_version="0.1.0")


def cell(key: str = "sim/model/target/all", **kw: object) -> Cell:
    base: dict[str, object] = dict(
        key=key,
        target="sim",
        spec="sim",
        build="model",
        driver={"hsprobe.sys": "ab" * 32},
        build_id="b1",
        convention=None,
        selection="all",
        keyword="",
        repeat=1,
        seed=0,
        required=True,
        kind="sim",
    )
    base.update(kw)
    return Cell(**base)  # type: ignore[arg-type]


def begin(store: ResultsStore, run_id: str = "r1", cells: list[Cell] | None = None) -> None:
    store.begin_run(
        RunRow(
            id=run_id,
            plan="p",
            plan_path="/p.toml",
            plan_digest="d",
            kind="nightly",
            state="running",
            started=now(),
            host="h",
            directory="/tmp",
            harness_version="0.1.0",
        ),
        cells or [cell()],
    )


def case(name: str, verdict: Verdict = Verdict.PASS, rep: int = 0) -> CaseResult:
    return CaseResult(
        scenario=name,
        verdict=verdict,
        repetition=rep,
        duration=0.5,
        facts={"convention": "documented", "feature": "enabled"},
        violations=(ViolationInfo(invariant="i", message="m", records=(3, 4)),)
        if verdict is Verdict.VIOLATION
        else (),
    )


@pytest.fixture
def store(store_url: str) -> ResultsStore:
    s = open_results_store(store_url)
    yield s
    s.close()


def test_migrations_make_exactly_the_declared_schema(store: ResultsStore) -> None:
    with store.engine.connect() as c:
        assert schema_version(c) == HEAD
        assert compare_metadata(MigrationContext.configure(c), metadata) == []


def test_reopening_keeps_what_was_written(store_url: str) -> None:
    s = open_results_store(store_url)
    begin(s)
    s.close()
    s = open_results_store(store_url)
    assert [r.id for r in s.runs("p")] == ["r1"]
    assert s.driver_files("b1") == {"hsprobe.sys": "ab" * 32}
    s.close()


def test_a_newer_schema_is_refused_with_what_to_do(store_url: str) -> None:
    s = open_results_store(store_url)
    with s.engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    s.close()
    with pytest.raises(
        ConfigError,
        match=r"schema version 0099 is newer than this harness "
        r"knows \(0001\); upgrade the harness",
    ):
        open_results_store(store_url)


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"hello, this is not a database at all" * 100)
    with pytest.raises(ConfigError, match="not a results store"):
        open_results_store(f"sqlite:///{bad}")
    with pytest.raises(ConfigError, match="not a database URL"):
        open_results_store("results.sqlite")
    with pytest.raises(ConfigError, match="backend is not supported"):
        open_results_store("mysql://x@localhost/db")


def test_a_result_is_stored_once_however_often_it_is_written(store: ResultsStore) -> None:
    begin(store)
    [row] = store.cells("r1")
    attempt = store.start_attempt(row.id, "sim#0")
    for _ in range(3):
        store.add_result("r1", row.id, attempt, case("a", Verdict.VIOLATION), INPUTS)
    store.add_results(
        "r1", row.id, attempt, [(case("a", Verdict.VIOLATION), INPUTS), (case("b"), INPUTS)]
    )
    store.finish_attempt(attempt, final=True)
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM result")).scalar_one() == 2
        assert c.execute(sa.text("SELECT count(*) FROM violation")).scalar_one() == 1
    [row] = store.cells("r1")
    assert (row.state, row.verdict, row.attempts, row.machine) == ("done", "violation", 1, "sim#0")


def test_only_the_final_attempt_counts(store: ResultsStore) -> None:
    begin(store)
    [row] = store.cells("r1")
    first = store.start_attempt(row.id, "sim#0")
    store.add_result("r1", row.id, first, case("a", Verdict.INFRA), INPUTS)
    store.finish_attempt(first, final=False, error="worker died")
    assert store.cells("r1")[0].state == "pending"
    second = store.start_attempt(row.id, "sim#1")
    store.add_result("r1", row.id, second, case("a"), INPUTS)
    store.finish_attempt(second, final=True)
    with store.engine.connect() as c:
        final = c.execute(sa.text("SELECT verdict FROM result WHERE final")).all()
        kept = c.execute(sa.text("SELECT count(*) FROM result")).scalar_one()
    assert [r[0] for r in final] == ["pass"] and kept == 2
    assert store.cells("r1")[0].verdict == "pass"


def test_an_attempt_left_running_is_abandoned_and_its_results_dropped(store: ResultsStore) -> None:
    begin(store)
    [row] = store.cells("r1")
    dead = store.start_attempt(row.id, "sim#0")  # its process was killed here
    store.add_result("r1", row.id, dead, case("a", Verdict.VIOLATION), INPUTS)
    again = store.start_attempt(row.id, "sim#0")
    store.add_result("r1", row.id, again, case("a"), INPUTS)
    store.finish_attempt(again, final=True)
    with store.engine.connect() as c:
        states = dict(c.execute(sa.text("SELECT id, state FROM attempt")).all())
        results = c.execute(sa.text("SELECT attempt_id, verdict FROM result")).all()
        violations = c.execute(sa.text("SELECT count(*) FROM violation")).scalar_one()
    assert states == {dead: "abandoned", again: "final"}
    assert [tuple(r) for r in results] == [(again, "pass")] and violations == 0


def test_runs_are_listed_newest_first(store: ResultsStore) -> None:
    for name in ("r1", "r2", "r3"):
        begin(store, name, [cell()])
    store.finish_run("r2", "done")
    assert [r.id for r in store.runs("p")] == ["r3", "r2", "r1"]
    assert [r.id for r in store.runs("p", state="done")] == ["r2"]
    assert store.run("r9") is None


def _crash(kind: str) -> Crash:
    return Crash(platform="linux", kind=kind, fault="hsprobe!routine")


def test_crashes_live_in_the_store_through_the_triage_protocol(store: ResultsStore) -> None:
    crashes: CrashStore = store.crashes
    a = Occurrence(
        source="/r/a",
        crash=_crash("BUG: oops"),
        time="2026-12-01T01:00:00",
        scenario="swap",
        driver_build="hsprobe.ko@abc",
    )
    b = Occurrence(
        source="/r/b",
        crash=_crash("BUG: oops"),
        time="2026-12-02T01:00:00",
        scenario="waits",
        driver_build="hsprobe.ko@def",
        dump="/r/b/memory.elf",
    )
    c = Occurrence(source="/r/c", crash=_crash("INFO: task hung"), time="2026-12-01T05:00:00")
    assert [crashes.add(o) for o in (a, b, c, a)] == [True, False, True, False]
    first, second = crashes.buckets()
    assert (first.count, first.scenarios, first.driver_builds) == (
        2,
        ("swap", "waits"),
        ("hsprobe.ko@abc", "hsprobe.ko@def"),
    )
    assert (first.first_seen, first.last_seen, first.dumps) == (
        "2026-12-01T01:00:00",
        "2026-12-02T01:00:00",
        ("/r/b/memory.elf",),
    )
    assert second.count == 1
    assert crashes.bucket(first.id[:5]) == first and crashes.bucket("zzzz") is None
    assert [o.source for o in crashes.occurrences(first.id)] == ["/r/a", "/r/b"]
    crashes.set_dump("/r/b", "/r/b/memory.elf.zst")
    assert crashes.occurrences(first.id)[1].dump == "/r/b/memory.elf.zst"
    assert [b.id for b in store.crashes.open_buckets({"hsprobe.ko@abc"})] == [first.id]
    store.crashes.set_state(first.id, "closed", "fixed in 1.2")
    assert store.crashes.open_buckets({"hsprobe.ko@abc"}) == []
    with pytest.raises(InputError, match="no crash bucket"):
        store.crashes.set_state("ffff", "closed")


def test_an_attempt_taken_over_writes_nothing_more(store: ResultsStore) -> None:
    from harness.store.results import AttemptLostError

    begin(store)
    [row] = store.cells("r1")
    slow = store.start_attempt(row.id, "host-a/w1:sim#0")  # its worker was taken for dead
    store.add_result("r1", row.id, slow, case("a"), INPUTS)
    taken = store.start_attempt(row.id, "host-b/w2:sim#0")
    with pytest.raises(AttemptLostError, match="was abandoned"):
        store.add_result("r1", row.id, slow, case("b"), INPUTS)
    with pytest.raises(AttemptLostError):
        store.finish_attempt(slow, final=True)
    store.add_result("r1", row.id, taken, case("a", Verdict.VIOLATION), INPUTS)
    store.finish_attempt(taken, final=True)
    with pytest.raises(AttemptLostError, match="already done"):
        store.start_attempt(row.id, "host-a/w1:sim#0")
    with store.engine.connect() as c:
        rows = c.execute(sa.text("SELECT attempt_id, verdict, final FROM result")).all()
    assert [tuple(r) for r in rows] == [(taken, "violation", True)]


def test_a_cells_verdict_is_the_one_that_matters_most() -> None:
    from harness.store.results import worst

    assert worst(["pass", "not_applicable"]) == "pass"
    assert worst(["not_applicable"]) == "not_applicable"
    assert worst(["pass", "infrastructure_error", "violation"]) == "violation"
    assert worst(["violation", "crash", "pass"]) == "crash"
    assert worst([]) is None


def test_harness_triage_reads_the_crash_buckets_of_a_results_store(
    store: ResultsStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    store.crashes.add(
        Occurrence(source="/r/a", crash=_crash("BUG: oops"), time="2026-12-01", scenario="swap")
    )
    [bucket] = store.crashes.buckets()
    assert main(["triage", "show", bucket.id[:6], "--store", store_url]) == 0
    out = capsys.readouterr().out
    assert bucket.id in out and "BUG: oops in hsprobe!routine" in out and "/r/a" in out
