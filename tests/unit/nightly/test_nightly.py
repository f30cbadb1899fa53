"""`harness nightly`: every cell run once into the store, on both backends; killed at any
moment (SIGKILL) and resumed, nothing lost and nothing twice; a worker that dies is retried on
another machine; one run of a plan at a time."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.unit.nightly.plans import (
    counted,
    finish,
    run_id_of,
    start,
    wait_for_results,
    workers_of,
    write_plan,
)

REFERENCE: dict[str, object] = {}


def reference(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The counted results of one uninterrupted run of the plan (SQLite), computed once."""
    if "results" not in REFERENCE:
        tmp = tmp_path_factory.mktemp("reference")
        url = f"sqlite:///{tmp / 'ref.sqlite'}"
        code, _out, err = finish(start(write_plan(tmp, url)))
        assert code == 1, err  # the mutant target breaks the contract
        REFERENCE["results"] = counted(url)
    return REFERENCE["results"]


def test_a_run_stores_every_case_of_every_cell_once(
    tmp_path: Path, store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    code, out, err = finish(start(write_plan(tmp_path, store_url)))
    assert code == 1, err
    results = counted(store_url)
    assert results == reference(tmp_path_factory)
    assert set(results.values()) == {1}
    assert len({key for key, *_ in results}) == 9
    verdicts = {v for *_, v in results}
    assert {"pass", "violation", "not_applicable"} <= verdicts
    assert "[9/9]" in err and "run " in out


def test_killed_at_any_moment_then_resumed_loses_nothing_and_repeats_nothing(
    tmp_path: Path, store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plan = write_plan(tmp_path, store_url)
    expected = reference(tmp_path_factory)
    total = sum(expected.values())  # type: ignore[attr-defined]
    proc = start(plan)
    wait_for_results(store_url, total // 4, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_id = run_id_of(store_url)
    deadline = time.monotonic() + 10
    while workers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers_of(proc.pid) == []  # the workers died with it
    for fraction in (2, 1.3):  # killed again while resuming
        proc = start(plan, "--resume", run_id)
        wait_for_results(store_url, int(total / fraction), proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    code, _, err = finish(start(plan, "--resume", run_id))
    assert code == 1, err
    assert "cell(s) to run" in err
    results = counted(store_url)
    assert results == expected  # every case once, with the verdict a clean run gives
    engine = sa.create_engine(store_url)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM run")).scalar_one() == 1
        assert c.execute(sa.text("SELECT state FROM run")).scalar_one() == "done"
        assert (
            c.execute(sa.text("SELECT count(*) FROM cell WHERE state != 'done'")).scalar_one() == 0
        )
    engine.dispose()
    code, _, err = finish(start(plan, "--resume", run_id))  # nothing left: changes nothing
    assert code == 1 and "0 of 9 cell(s) to run" in err
    assert counted(store_url) == expected


def test_sigterm_stops_the_run_and_its_workers_and_resume_finishes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    plan = write_plan(tmp_path, url, repeat=4, targets={"sim": "sim"})
    proc = start(plan)
    wait_for_results(url, 5, proc)
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 143 and "interrupted" in err and "Traceback" not in err  # 128 + SIGTERM
    assert workers_of(proc.pid) == []
    engine = sa.create_engine(url)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT state FROM run")).scalar_one() == "interrupted"
    engine.dispose()
    code, _, err = finish(start(plan, "--resume", run_id_of(url)))
    assert code == 0, err
    results = counted(url)
    assert set(results.values()) == {1} and len({k for k, *_ in results}) == 3


def test_a_worker_that_dies_mid_cell_is_retried_on_another_machine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    plan = write_plan(tmp_path, url, repeat=15, targets={"sim": "sim"})
    proc = start(plan)
    wait_for_results(url, 5, proc)
    victims = workers_of(proc.pid)
    assert victims
    os.kill(victims[0], signal.SIGKILL)
    code, _, err = finish(proc)
    assert code == 0, err
    assert "on another machine" in err and "died in the middle of cell" in err
    engine = sa.create_engine(url)
    with engine.connect() as c:
        retried = c.execute(
            sa.text("SELECT a.cell_id, a.machine FROM attempt a WHERE a.state = 'retried'")
        ).all()
        assert len(retried) == 1
        cell_id, machine = retried[0]
        final = c.execute(
            sa.text("SELECT machine FROM attempt WHERE cell_id = :c AND state = 'final'"),
            {"c": cell_id},
        ).scalar_one()
        dups = c.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT cell_id, scenario, repetition FROM result WHERE "
                "final GROUP BY cell_id, scenario, repetition HAVING count(*) > 1) d"
            )
        ).scalar_one()
    engine.dispose()
    assert final != machine and dups == 0


def test_two_runs_of_one_plan_at_once_one_refused_or_waiting(
    tmp_path: Path, store_url: str
) -> None:
    plan = write_plan(tmp_path, store_url, repeat=10, targets={"sim": "sim"})
    first = start(plan)
    wait_for_results(store_url, 1, first)
    waiting = start(plan, "--wait")
    code, _, err = finish(start(plan))
    assert code == 2
    assert "plan p is already being run by run " in err and "--wait" in err
    code, _, err_first = finish(first)
    assert code == 0, err_first
    code, _, err = finish(waiting)
    assert code == 0 and "waiting for run" in err
    engine = sa.create_engine(store_url)
    with engine.connect() as c:
        runs = c.execute(sa.text("SELECT id, state FROM run")).all()
    engine.dispose()
    assert [state for _, state in runs] == ["done", "done"]
    per_run = [sum(counted(store_url, rid).values()) for rid, _ in runs]
    assert per_run[0] == per_run[1] > 0


def test_a_missing_run_to_resume_and_a_bad_plan_are_bad_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    plan = write_plan(tmp_path, url)
    code, _, err = finish(start(plan, "--resume", "20260101T000000Z-abcdef"))
    assert code == 2 and "no such run" in err and "Traceback" not in err
    bad = tmp_path / "bad.toml"
    bad.write_text(plan.read_text().replace('"sim:feature=disabled"', '"lab:nowhere.toml"'))
    code, _, err = finish(start(bad))
    assert code == 2 and "field targets.off: lab config" in err and "Traceback" not in err


def test_a_store_of_a_newer_schema_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        c.execute(sa.text("INSERT INTO alembic_version VALUES ('0002')"))
    engine.dispose()
    plan = write_plan(tmp_path, url)
    assert main(["nightly", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "schema version 0002 is newer than this harness knows (0001)" in err
    assert not (tmp_path / "nightly").exists() or not any((tmp_path / "nightly").iterdir())
    assert main(["farm", "worker", "--store", url, "--serve", "gpu"]) == 2
    assert "schema version 0002" in capsys.readouterr().err
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    assert main(["farm", "worker", "--store", fresh, "--serve", "gpu"]) == 2
    assert "--serve gpu: use sim or lab:CONFIG" in capsys.readouterr().err
    assert main(["farm", "enqueue", str(write_plan(tmp_path, fresh, name="q"))]) == 2
    assert "the farm queues jobs on PostgreSQL" in capsys.readouterr().err
