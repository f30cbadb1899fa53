"""The farm on a real PostgreSQL: two worker processes share a run's jobs; one killed mid-job
loses nothing (its job is found stalled and retried by the other); the store ends with the
very results a single-host run gives; sign-off jobs run before nightly ones; the periodic
nightly queues itself."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.stores import new_database
from tests.unit.nightly.plans import ROOT, counted, finish, start, write_plan

pytestmark = pytest.mark.integration


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def worker(url: str, name: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    log = (tmp / f"{name}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "farm",
            "worker",
            "--store",
            url,
            "--name",
            name,
            "--parallel",
            "1",
            "--heartbeat",
            "1",
            "--stalled-after",
            "10",
            "--logs",
            str(tmp / "logs"),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )


def query(url: str, text: str, **params: object) -> list[sa.Row[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return list(c.execute(sa.text(text), params))
    finally:
        engine.dispose()


def until(
    check: Callable[[], bool], timeout: float, what: str, *procs: subprocess.Popen[str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"a worker exited early ({proc.returncode})"
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def url(pg_server: str) -> str:
    return new_database(pg_server)


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_two_workers_one_killed_mid_job_store_as_one_host_makes_it(
    tmp_path: Path, url: str, stop: list[subprocess.Popen[str]]
) -> None:
    plan = write_plan(tmp_path, url, repeat=3)
    done = harness("farm", "enqueue", str(plan))
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[1].rstrip(":")
    one, two = worker(url, "w1", tmp_path), worker(url, "w2", tmp_path)
    stop += [one, two]

    def running_on(name: str) -> list[int]:
        return [
            int(r[0])
            for r in query(
                url,
                "SELECT id FROM attempt WHERE state = 'running' AND machine LIKE :m",
                m=f"%/{name}:%",
            )
        ]

    until(
        lambda: (
            bool(
                query(url, "SELECT 1 FROM attempt WHERE state = 'final' AND machine LIKE '%/w1:%'")
            )
            and bool(running_on("w1"))
        ),
        180,
        "w1 finished a cell and started another",
        one,
        two,
    )
    killed = running_on("w1")
    one.send_signal(signal.SIGKILL)
    one.wait()
    until(
        lambda: query(url, "SELECT state FROM run")[0][0] == "done",
        300,
        "the run finished on w2",
        two,
    )
    states = dict(query(url, "SELECT id, state FROM attempt"))
    assert all(states[a] == "abandoned" for a in killed)
    machines = {
        str(m).split("/")[1].split(":")[0]
        for (m,) in query(url, "SELECT machine FROM attempt WHERE state = 'final'")
    }
    assert machines == {"w1", "w2"}
    # the same plan on one host, into SQLite: the counted results are the same
    (tmp_path / "ref").mkdir()
    reference = f"sqlite:///{tmp_path / 'ref.sqlite'}"
    code, _, err = finish(start(write_plan(tmp_path / "ref", reference, repeat=3)))
    assert code == 1, err
    assert counted(url, run_id) == counted(reference)


def test_signoff_jobs_before_nightly_and_the_nightly_schedule(
    tmp_path: Path, url: str, stop: list[subprocess.Popen[str]]
) -> None:
    plan = write_plan(tmp_path, url, targets={"sim": "sim"})
    nightly = harness("farm", "enqueue", str(plan))
    assert nightly.returncode == 0, nightly.stderr
    signoff = harness("farm", "enqueue", str(plan), "--signoff", "model")
    assert signoff.returncode == 0 and "(signoff)" in signoff.stdout, signoff.stderr
    again = harness("farm", "enqueue", str(plan))
    assert again.returncode == 2 and "has an unfinished nightly run" in again.stderr
    one = worker(url, "w1", tmp_path, "--nightly", str(plan), "--at", "* * * * * */2")
    stop.append(one)
    until(
        lambda: len(query(url, "SELECT 1 FROM run WHERE state = 'done'")) >= 3,
        300,
        "the queued runs and one periodic nightly finished",
        one,
    )
    kinds = query(
        url,
        "SELECT r.kind, min(a.id), max(a.id) FROM attempt a JOIN cell c ON "
        "c.id = a.cell_id JOIN run r ON r.id = c.run_id GROUP BY r.id, r.kind "
        "ORDER BY min(a.id)",
    )
    assert kinds[0][0] == "signoff"  # queued second, run first
    assert kinds[0][2] < kinds[1][1]
    assert [k for k, *_ in kinds].count("nightly") >= 2  # the one queued and a periodic one
