"""Results-store fixtures shared by every test that needs one: `store_url` runs a test on
both backends, SQLite (a file in the test's directory) and PostgreSQL (a fresh database on
one real server per session, started from Debian's packages by scripts/pg-cluster)."""

from __future__ import annotations

import itertools
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_names = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for this session: the URL of its `harness` database."""
    where = tmp_path_factory.mktemp("pg")
    done = subprocess.run(
        [ROOT / "scripts" / "pg-cluster", "start", where, str(_free_port())],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"scripts/pg-cluster could not start PostgreSQL: {done.stderr}"
    try:
        yield done.stdout.strip()
    finally:
        subprocess.run([ROOT / "scripts" / "pg-cluster", "stop", where], timeout=120)


def new_database(server: str) -> str:
    """A new empty database on `server`; its URL."""
    import psycopg

    name = f"t{next(_names)}_{_free_port()}"
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A results store URL with nothing in it yet, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.sqlite'}"
    return new_database(request.getfixturevalue("pg_server"))
