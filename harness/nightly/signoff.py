"""Sign-off: may build B ship? Yes when every required cell of B in the plan passed in each of
the plan's last N finished runs that ran it, no open crash bucket was seen on B, and B's
driver hashes are recorded (and every counted result ran those very files).

The answer carries its evidence (which runs, which verdicts) and, when it is no, the
blockers, each one sentence a release manager can act on.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from harness.errors import ConfigError
from harness.plan.load import LoadedPlan
from harness.plan.model import Cell
from harness.plan.resolve import expand
from harness.store import schema as t
from harness.store.results import ResultsStore
from harness.store.rows import driver_hash
from harness.triage.store import Bucket

__all__ = ["CellEvidence", "Decision", "crash_build_name", "decide"]

_OK = ("pass", "not_applicable")


class CellEvidence(msgspec.Struct, kw_only=True):
    key: str
    runs: list[tuple[str, str]]
    """(run id, the cell's verdict in it), newest first, at most N."""


class Decision(msgspec.Struct, kw_only=True):
    plan: str
    build: str
    build_id: str
    window: int
    ship: bool
    cells: list[CellEvidence]
    blockers: list[str]
    buckets: list[Bucket]
    driver: dict[str, str]
    """The build's files and sha256 as the store recorded them."""


def crash_build_name(files: dict[str, str]) -> str:
    """How triage names a driver build in its crash records (harness.triage.crashdir)."""
    return ",".join(f"{name}@{digest[:12]}" for name, digest in sorted(files.items()))


def _required(loaded: LoadedPlan, build: str) -> list[Cell]:
    cells = expand(loaded)
    required = [c for c in cells if c.required and build in (c.build, c.build_id)]
    if not required:
        builds = sorted({c.build for c in cells if c.required})
        raise ConfigError(
            f"--build {build}: plan {loaded.plan.name} has no required cell of "
            f"that build; builds with required cells: {', '.join(builds) or 'none'}"
            " (mark cells `required = true` in the plan)"
        )
    return required


def _evidence(
    store: ResultsStore, plan: str, keys: list[str], window: int
) -> dict[str, list[tuple[str, str]]]:
    run, cell = t.run, t.cell
    q = (
        sa.select(cell.c.key, run.c.id, cell.c.verdict, cell.c.state)
        .select_from(cell.join(run, run.c.id == cell.c.run_id))
        .where(run.c.plan == plan, run.c.state == "done", cell.c.key.in_(keys))
        .order_by(run.c.started.desc(), run.c.id.desc())
    )
    found: dict[str, list[tuple[str, str]]] = {k: [] for k in keys}
    for row in store.read(q):
        if len(found[row.key]) < window:
            found[row.key].append((row.id, row.verdict or "not run"))
    return found


def _hash_mismatches(store: ResultsStore, runs: set[str], keys: list[str], expected: str) -> int:
    r, c = t.result, t.cell
    q = (
        sa.select(sa.func.count())
        .select_from(r.join(c, c.c.id == r.c.cell_id))
        .where(
            r.c.final.is_(True),
            r.c.run_id.in_(runs),
            c.c.key.in_(keys),
            r.c.driver_hash != expected,
        )
    )
    return int(store.read(q)[0][0])


def decide(store: ResultsStore, loaded: LoadedPlan, build: str, window: int) -> Decision:
    """The sign-off answer for `build` over the last `window` runs of the plan."""
    required = _required(loaded, build)
    build_id, files = required[0].build_id, required[0].driver
    keys = [c.key for c in required]
    evidence = _evidence(store, loaded.plan.name, keys, window)
    blockers = []
    for key in keys:
        runs = evidence[key]
        if len(runs) < window:
            blockers.append(
                f"cell {key} ran in {len(runs)} of the {window} finished run(s) "
                "needed; run the plan again"
            )
        bad = [f"{verdict} in run {rid}" for rid, verdict in runs if verdict not in _OK]
        if bad:
            blockers.append(f"cell {key} did not pass: {'; '.join(bad)}")
    used = {rid for runs in evidence.values() for rid, _ in runs}
    recorded = store.driver_files(build_id)
    if files and recorded != files:
        blockers.append(
            f"driver hashes of build {build_id} are not recorded as the manifest "
            "has them; run the plan on this build"
        )
    mismatched = _hash_mismatches(store, used, keys, driver_hash(files, build_id))
    if mismatched:
        blockers.append(
            f"{mismatched} counted result(s) of required cells ran other driver "
            f"files than build {build_id}"
        )
    names = {crash_build_name(files)} if files else set()
    buckets = store.crashes.open_buckets(names, used)
    for bucket in buckets:
        blockers.append(
            f"open crash bucket {bucket.id} ({bucket.title}) seen {bucket.count} "
            f"time(s), last {bucket.last_seen}; fix it, or close it with a note "
            f"(harness signoff --close-bucket {bucket.id})"
        )
    return Decision(
        plan=loaded.plan.name,
        build=required[0].build,
        build_id=build_id,
        window=window,
        ship=not blockers,
        cells=[CellEvidence(key=k, runs=evidence[k]) for k in keys],
        blockers=blockers,
        buckets=buckets,
        driver=recorded or files,
    )
