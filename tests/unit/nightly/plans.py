"""Plans and runs for the nightly tests: a plan file of simulator cells, the harness CLI in
a child process (so it can be killed like a real nightly), and the store's counted results."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[3]
SELECTIONS = {
    "waits": "wait",
    "swaps": "swap and not storm",
    "life": "terminate or unload or feature",
}


def write_plan(
    tmp: Path,
    store: str,
    *,
    name: str = "p",
    repeat: int = 1,
    parallel: int = 2,
    targets: dict[str, str] | None = None,
    retries: int = 2,
) -> Path:
    targets = targets or {
        "sim": "sim",
        "bug": "sim:mutant=lost-wakeup+no-drain",
        "off": "sim:feature=disabled",
    }
    lines = [
        f'name = "{name}"',
        f'store = "{store}"',
        f"parallel = {parallel}",
        f"retries = {retries}",
        "[targets]",
    ]
    lines += [f'{k} = "{v}"' for k, v in targets.items()]
    lines += ["[builds]", "model = {}", "[selections]"]
    lines += [f'{k} = "{v}"' for k, v in SELECTIONS.items()]
    lines += [
        "[[cells]]",
        f"targets = {list(targets)}".replace("'", '"'),
        'builds = ["model"]',
        f"selections = {list(SELECTIONS)}".replace("'", '"'),
        f"repeat = {repeat}",
        "required = true",
    ]
    path = tmp / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start(plan: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "nightly", str(plan), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def counted(url: str, run_id: str | None = None) -> Counter[tuple[str, str, int, str]]:
    """(cell key, scenario, repetition, verdict) of every counted result."""
    engine = sa.create_engine(url)
    where = "AND r.run_id = :run" if run_id else ""
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT c.key, r.scenario, r.repetition, r.verdict FROM result r "
                f"JOIN cell c ON c.id = r.cell_id WHERE r.final {where}"
            ),
            {"run": run_id},
        ).all()
    engine.dispose()
    return Counter(tuple(r) for r in rows)  # type: ignore[misc]


def wait_for_results(
    url: str, at_least: int, proc: subprocess.Popen[str], timeout: float = 120
) -> None:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                with engine.connect() as c:
                    n = c.execute(sa.text("SELECT count(*) FROM result")).scalar_one()
            except sa.exc.DBAPIError:  # not created yet
                n = 0
            if n >= at_least:
                return
            time.sleep(0.05)
        raise AssertionError(f"fewer than {at_least} results after {timeout} s")
    finally:
        engine.dispose()


def run_id_of(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rid = c.execute(sa.text("SELECT id FROM run ORDER BY started DESC")).scalar_one()
    engine.dispose()
    return str(rid)


def workers_of(pid: int) -> list[int]:
    """Live worker processes started by `pid` (found by the parent pid in their env)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if f"HARNESS_WORKER_PARENT={pid}".encode() in env and state != "Z":
            found.append(int(entry.name))
    return found
