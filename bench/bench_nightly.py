"""Benchmark nightly runs and the results store.

1. Scheduler and store overhead per scenario result against the simulator (goal < 5 ms):
   the same cells run by `harness nightly` (one slot) and straight through the scenario
   runner in one process; the difference over the number of results. Beside it, the store's
   own cost of one result (one transaction) on SQLite and on PostgreSQL.
2. A plan of N simulated cells (default 10,000) end to end: on one host (`harness nightly`,
   two slots, SQLite) and on the farm (two worker processes, PostgreSQL). Each cell is one
   scenario (feature_probe): 10,000 whole-suite cells would take hours on two cores and
   measure the simulator, not the scheduler.
3. History of one scenario over 1,000,000 stored results (goal < 200 ms), on SQLite and
   PostgreSQL: 500 runs x 40 cells x 50 scenarios.

    .venv/bin/python bench/bench_nightly.py [--cells N] [--skip-farm] [--skip-pg]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.results.model import CaseResult, Verdict  # noqa: E402
from harness.store import open_results_store  # noqa: E402
from harness.store import schema as t  # noqa: E402
from harness.store.history import history  # noqa: E402
from harness.store.rows import Inputs, RunRow  # noqa: E402
from tests.stores import _free_port, new_database  # noqa: E402

INPUTS = Inputs(guest_build="sim", driver_hash="sim-model", harness_version="0.1.0")


@contextmanager
def postgres(tmp: Path) -> Iterator[str]:
    where = tmp / "pg"
    url = subprocess.run(
        [ROOT / "scripts" / "pg-cluster", "start", where, str(_free_port())],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([ROOT / "scripts" / "pg-cluster", "stop", where], check=False)


def plan_text(
    store: str, targets: int, selections: dict[str, str], *, parallel: int = 1, repeat: int = 1
) -> str:
    names = [f"t{i}" for i in range(targets)]
    return (
        "\n".join(
            [
                'name = "bench"',
                f'store = "{store}"',
                f"parallel = {parallel}",
                "[targets]",
                *[f'{n} = "sim"' for n in names],
                "[builds]",
                "model = {}",
                "[selections]",
                *[f'{k} = "{v}"' for k, v in selections.items()],
                "[[cells]]",
                "targets = [" + ", ".join(f'"{n}"' for n in names) + "]",
                'builds = ["model"]',
                "selections = [" + ", ".join(f'"{k}"' for k in selections) + "]",
                f"repeat = {repeat}",
            ]
        )
        + "\n"
    )


def nightly(plan: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "harness", "nightly", str(plan)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - began


def overhead(tmp: Path, pg: str | None) -> None:
    """The nightly in this process: its CPU time is the scheduler's and the store's (the
    cells run in worker processes, which are children and not counted)."""
    from harness.nightly.run import nightly as run_nightly
    from harness.plan import load_plan
    from harness.scenarios.runner import run_suite

    cells, repeat = 12, 2
    for name, url in (
        ("SQLite", f"sqlite:///{tmp / 'overhead.sqlite'}"),
        ("PostgreSQL", new_database(pg) if pg else None),
    ):
        if url is None:
            continue
        plan = tmp / f"overhead-{name}.toml"
        plan.write_text(plan_text(url, cells, {"all": ""}, repeat=repeat))
        store = open_results_store(url)
        cpu, wall = time.process_time(), time.perf_counter()
        summary = run_nightly(store, load_plan(plan), say=lambda _: None)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        results = len(
            store.read(sa.select(t.result.c.id).where(t.result.c.run_id == summary.run_id))
        )
        store.close()
        print(
            f"1. {cells} whole-suite cells x{repeat} ({results} results) through the "
            f"scheduler, store {name}: {cpu / results * 1000:.2f} ms CPU per result in the "
            f"scheduler and store (goal < 5 ms); {wall:.1f} s wall"
        )
    began = time.perf_counter()
    direct = sum(len(run_suite(repeat=repeat).cases) for _ in range(cells))
    print(
        f"   the same {direct} results straight through the runner, one process: "
        f"{time.perf_counter() - began:.1f} s wall"
    )
    for name, url in (
        ("SQLite", f"sqlite:///{tmp / 'one.sqlite'}"),
        ("PostgreSQL", new_database(pg) if pg else None),
    ):
        if url is not None:
            print(f"   store alone, one result per transaction, {name}: {store_cost(url):.2f} ms")


def store_cost(url: str, n: int = 2000) -> float:
    from harness.plan.model import Cell

    store = open_results_store(url)
    cell = Cell(
        key="k",
        target="sim",
        spec="sim",
        build="model",
        driver={},
        build_id="sim-model",
        convention=None,
        selection="all",
        keyword="",
        repeat=1,
        seed=0,
        required=False,
        kind="sim",
    )
    store.begin_run(
        RunRow(
            id="r",
            plan="p",
            plan_path="p",
            plan_digest="d",
            kind="nightly",
            state="running",
            started="2026",
            host="h",
            directory="/tmp",
            harness_version="0",
        ),
        [cell],
    )
    row = store.cells("r")[0]
    attempt = store.start_attempt(row.id, "sim#0")
    began = time.perf_counter()
    for i in range(n):
        store.add_result(
            "r",
            row.id,
            attempt,
            CaseResult(scenario=f"s{i}", verdict=Verdict.PASS, facts={"feature": "enabled"}),
            INPUTS,
        )
    cost = (time.perf_counter() - began) / n * 1000
    store.close()
    return cost


def many_cells(tmp: Path, cells: int, pg: str | None, farm: bool) -> None:
    targets = max(1, cells // 100)
    selections = {f"s{i}": "feature_probe" for i in range(cells // targets)}
    plan = tmp / "many.toml"
    plan.write_text(plan_text(f"sqlite:///{tmp / 'many.sqlite'}", targets, selections, parallel=2))
    seconds = nightly(plan)
    total = targets * len(selections)
    print(
        f"2. {total} one-scenario cells on one host (harness nightly, 2 slots, SQLite): "
        f"{seconds:.0f} s, {seconds / total * 1000:.1f} ms per cell"
    )
    if farm and pg is not None:
        seconds = farm_run(tmp, new_database(pg), targets, selections)
        print(
            f"   the same on the farm (2 worker processes, PostgreSQL, procrastinate): "
            f"{seconds:.0f} s, {seconds / total * 1000:.1f} ms per cell"
        )


def farm_run(tmp: Path, url: str, targets: int, selections: dict[str, str]) -> float:
    plan = tmp / "farm.toml"
    plan.write_text(plan_text(url, targets, selections))
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "harness", "farm", "enqueue", str(plan)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness",
                "farm",
                "worker",
                "--store",
                url,
                "--name",
                f"w{i}",
                "--parallel",
                "1",
                "--logs",
                str(tmp / "logs"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    engine = sa.create_engine(url)
    try:
        while True:
            with engine.connect() as c:
                if c.execute(sa.text("SELECT state FROM run")).scalar_one() == "done":
                    break
            time.sleep(0.5)
    finally:
        for w in workers:
            w.terminate()
            w.wait()
        engine.dispose()
    return time.perf_counter() - began


def fill(url: str, runs: int = 500, cells: int = 40, scenarios: int = 50) -> None:
    """runs x cells x scenarios counted results, written in bulk."""
    store = open_results_store(url)
    engine = store.engine
    with engine.begin() as c:
        for r in range(runs):
            rid = f"r{r:04d}"
            c.execute(
                t.run.insert().values(
                    id=rid,
                    plan="p",
                    plan_path="p",
                    plan_digest="d",
                    kind="nightly",
                    state="done",
                    started=f"2026-01-01T00:00:00.{r:04d}",
                    host="h",
                    directory="/",
                    harness_version="0",
                )
            )
            ids = (
                c.execute(
                    t.cell.insert().returning(t.cell.c.id),
                    [
                        {
                            "run_id": rid,
                            "key": f"t{k}/model/target/all",
                            "target": f"t{k}",
                            "spec": "sim",
                            "kind": "sim",
                            "build": "model" if k % 2 else "v2",
                            "build_id": "b",
                            "convention": None,
                            "selection": "all",
                            "keyword": "",
                            "repeat": 1,
                            "seed": 0,
                            "required": True,
                            "state": "done",
                            "attempts": 1,
                        }
                        for k in range(cells)
                    ],
                )
                .scalars()
                .all()
            )
            attempts = (
                c.execute(
                    t.attempt.insert().returning(t.attempt.c.id),
                    [
                        {
                            "cell_id": i,
                            "number": 1,
                            "machine": "m",
                            "state": "final",
                            "started": "x",
                        }
                        for i in ids
                    ],
                )
                .scalars()
                .all()
            )
            c.execute(
                t.result.insert(),
                [
                    {
                        "run_id": rid,
                        "cell_id": i,
                        "attempt_id": a,
                        "scenario": f"scenario_{s}",
                        "repetition": 0,
                        "verdict": "pass" if (r + s + k) % 97 else "violation",
                        "duration": 0.1,
                        "message": "",
                        "trace": None,
                        "guest_build": "sim",
                        "driver_hash": "d",
                        "harness_version": "0",
                        "convention": None,
                        "feature": None,
                        "facts": "{}",
                        "final": True,
                    }
                    for k, (i, a) in enumerate(zip(ids, attempts, strict=True))
                    for s in range(scenarios)
                ],
            )
    store.close()


def timed(fn: Callable[[], object], n: int = 5) -> float:
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def history_query(tmp: Path, pg: str | None) -> None:
    for name, url in (
        ("SQLite", f"sqlite:///{tmp / 'million.sqlite'}"),
        ("PostgreSQL", new_database(pg) if pg else None),
    ):
        if url is None:
            continue
        began = time.perf_counter()
        fill(url)
        filled = time.perf_counter() - began
        if url.startswith("postgresql"):  # as autovacuum would: statistics, visibility map
            eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                c.execute(sa.text("VACUUM ANALYZE"))
            eng.dispose()
        store = open_results_store(url)
        n = len(history(store, "scenario_7", runs=30).entries)
        last30 = timed(lambda store=store: history(store, "scenario_7", runs=30))
        every = timed(lambda store=store: history(store, "scenario_7", runs=500))
        build = timed(lambda store=store: history(store, "scenario_7", build="v2", runs=500))
        store.close()
        print(
            f"3. history over 1,000,000 results ({name}, filled in {filled:.0f} s): one "
            f"scenario, last 30 runs ({n} verdicts) {last30:.0f} ms; all 500 runs (20,000) "
            f"{every:.0f} ms; all runs of one build {build:.0f} ms (goal < 200 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--skip-farm", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        pg_ctx = postgres(tmp) if not args.skip_pg else None
        pg = pg_ctx.__enter__() if pg_ctx else None
        try:
            overhead(tmp, pg)
            many_cells(tmp, args.cells, pg, not args.skip_farm)
            history_query(tmp, pg)
        finally:
            if pg_ctx:
                pg_ctx.__exit__(None, None, None)


if __name__ == "__main__":
    main()
