"""A store that goes away mid-run: a short outage is ridden out (writes retry, nothing is
written twice); a long one stops the run with one clear message (exit 3), and `--resume`
finishes it with the results an uninterrupted run gives."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stores import ROOT, _free_port
from tests.unit.nightly.plans import counted, finish, run_id_of, start, wait_for_results, write_plan

pytestmark = pytest.mark.integration
CLUSTER = ROOT / "scripts" / "pg-cluster"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """A PostgreSQL of this test's own (it is stopped and started under the run)."""
    where, port = tmp_path / "pg", _free_port()
    url = subprocess.run(
        [CLUSTER, "start", where, str(port)],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    ).stdout.strip()
    try:
        yield url, where, port
    finally:
        subprocess.run([CLUSTER, "stop", where], timeout=120)


def test_outages_short_and_long(tmp_path: Path, server: tuple[str, Path, int]) -> None:
    url, where, port = server
    plan = write_plan(tmp_path, url, repeat=3)
    proc = start(plan, "--patience", "15")
    wait_for_results(url, 20, proc)
    subprocess.run([CLUSTER, "halt", where], check=True, timeout=60)  # a short outage
    subprocess.run([CLUSTER, "start", where, str(port)], check=True, timeout=120)
    wait_for_results(url, 80, proc)
    subprocess.run([CLUSTER, "halt", where], check=True, timeout=60)  # a long one
    code, _, err = finish(proc, timeout=240)
    assert code == 3, err
    assert "lost the database connection" in err and "--resume" in err
    assert "Traceback" not in err
    subprocess.run([CLUSTER, "start", where, str(port)], check=True, timeout=120)
    run_id = run_id_of(url)
    code, _, err = finish(start(plan, "--resume", run_id))
    assert code == 1, err
    (tmp_path / "ref").mkdir()
    reference = f"sqlite:///{tmp_path / 'ref' / 'ref.sqlite'}"
    assert finish(start(write_plan(tmp_path / "ref", reference, repeat=3)))[0] == 1
    assert counted(url) == counted(reference)
    assert set(counted(url).values()) == {1}
