"""Where crashes are remembered, grouped into buckets by signature: the `CrashStore` Protocol
and `SqliteCrashStore`, a local file (stdlib sqlite3). The nightly results store implements
the same Protocol later (SQLAlchemy over SQLite or PostgreSQL).

A bucket is derived, never stored: its first and last seen, count, scenarios, driver builds
and dumps are queries over the occurrences, so it cannot drift from them. Adding the same
crash (same source) twice counts it once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import msgspec

from harness.errors import InputError
from harness.triage.model import Crash

__all__ = [
    "Bucket",
    "CrashStore",
    "Occurrence",
    "SqliteCrashStore",
    "open_crash_store",
    "open_store",
]


class Occurrence(msgspec.Struct, kw_only=True):
    """One crash, where it came from and what it hit."""

    source: str
    """The crash directory or file analysed: the unique key."""
    crash: Crash
    time: str
    scenario: str = ""
    repetition: int = 0
    driver_build: str = ""
    guest_build: str = ""
    dump: str | None = None
    context: str = ""
    """The DriverProxy context summary at the time."""


class Bucket(msgspec.Struct, kw_only=True):
    id: str
    title: str
    platform: str
    first_seen: str
    last_seen: str
    count: int
    scenarios: tuple[str, ...]
    driver_builds: tuple[str, ...]
    dumps: tuple[str, ...]
    corrupted: int
    """How many of its crashes were read only in part."""


class CrashStore(Protocol):
    """Crash occurrences grouped into buckets. Methods raise InputError for a bad store."""

    def add(self, occurrence: Occurrence) -> bool:
        """Record a crash; True when its bucket was new (never seen before)."""
        ...

    def buckets(self) -> list[Bucket]:
        """Every bucket, most recently seen first."""
        ...

    def bucket(self, ident: str) -> Bucket | None:
        """The bucket whose id starts with `ident` (None if none; InputError if several)."""
        ...

    def occurrences(self, bucket: str) -> list[Occurrence]:
        """A bucket's crashes, oldest first."""
        ...

    def set_dump(self, source: str, dump: str | None) -> None:
        """Point an occurrence at its dump's new place (compressed) or at none (removed)."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS occurrence (
    source TEXT PRIMARY KEY, bucket TEXT NOT NULL, title TEXT NOT NULL, platform TEXT NOT NULL,
    time TEXT NOT NULL, scenario TEXT, driver_build TEXT, dump TEXT, corrupted INTEGER,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS occurrence_bucket ON occurrence (bucket, time);
"""
_DISTINCT = (
    "(SELECT group_concat(v, char(31)) FROM (SELECT DISTINCT {0} v FROM occurrence o "
    "WHERE o.bucket = occurrence.bucket AND {0} IS NOT NULL AND {0} != '' ORDER BY v))"
)
_BUCKETS = (
    "SELECT bucket, title, platform, min(time), max(time), count(*), "
    + ", ".join(_DISTINCT.format(c) for c in ("scenario", "driver_build", "dump"))
    + ", sum(corrupted) FROM occurrence {where} GROUP BY bucket ORDER BY max(time) DESC, bucket"
)
_SEP = chr(31)  # the unit separator: no path or scenario name holds it


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(_SEP) if p)


class SqliteCrashStore:
    """A CrashStore in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise InputError(f"not a crash store ({e})", path=str(path)) from None
        self._encode = msgspec.json.Encoder()
        self._decode = msgspec.json.Decoder(Occurrence)

    def _insert(self, occurrence: Occurrence) -> bool:
        crash = occurrence.crash
        seen = self._db.execute(
            "SELECT 1 FROM occurrence WHERE bucket = ? LIMIT 1", (crash.bucket,)
        ).fetchone()
        self._db.execute(
            "INSERT OR IGNORE INTO occurrence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                occurrence.source,
                crash.bucket,
                crash.title,
                crash.platform,
                occurrence.time,
                occurrence.scenario,
                occurrence.driver_build,
                occurrence.dump,
                int(crash.corrupted is not None),
                self._encode.encode(occurrence),
            ),
        )
        return seen is None

    def add(self, occurrence: Occurrence) -> bool:
        with self._db:
            return self._insert(occurrence)

    def add_many(self, occurrences: list[Occurrence]) -> None:
        """Record many crashes in one transaction (a nightly's worth, or a benchmark's)."""
        with self._db:
            for occurrence in occurrences:
                self._insert(occurrence)

    def _rows(self, where: str = "", args: tuple[str, ...] = ()) -> list[Bucket]:
        rows = self._db.execute(_BUCKETS.format(where=where), args).fetchall()
        return [
            Bucket(
                id=r[0],
                title=r[1],
                platform=r[2],
                first_seen=r[3],
                last_seen=r[4],
                count=r[5],
                scenarios=_split(r[6]),
                driver_builds=_split(r[7]),
                dumps=_split(r[8]),
                corrupted=r[9] or 0,
            )
            for r in rows
        ]

    def buckets(self) -> list[Bucket]:
        return self._rows()

    def bucket(self, ident: str) -> Bucket | None:
        found = self._rows("WHERE bucket LIKE ?", (ident.replace("%", "") + "%",))
        if len(found) > 1:
            raise InputError(
                f"bucket {ident!r} is ambiguous: it starts "
                f"{', '.join(b.id for b in found)}; give more of the id"
            )
        return found[0] if found else None

    def occurrences(self, bucket: str) -> list[Occurrence]:
        rows = self._db.execute(
            "SELECT body FROM occurrence WHERE bucket = ? ORDER BY time", (bucket,)
        ).fetchall()
        return [self._decode.decode(r[0]) for r in rows]

    def set_dump(self, source: str, dump: str | None) -> None:
        row = self._db.execute("SELECT body FROM occurrence WHERE source = ?", (source,)).fetchone()
        if row is None:
            return
        occurrence = self._decode.decode(row[0])
        occurrence.dump = dump
        with self._db:
            self._db.execute(
                "UPDATE occurrence SET dump = ?, body = ? WHERE source = ?",
                (dump, self._encode.encode(occurrence), source),
            )

    def close(self) -> None:
        self._db.close()


def open_store(path: Path) -> SqliteCrashStore:
    """The store at `path`: refuses a file that exists and is not a SQLite database."""
    if path.is_file():
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\0":
                raise InputError("not a crash store (not an SQLite file)", path=str(path))
    return SqliteCrashStore(path)


def open_crash_store(where: str | Path) -> CrashStore:
    """The crash store at `where`: a results store URL (sqlite:///..., postgresql+psycopg://...,
    harness.store: the crashes of the nightly runs) or a local file."""
    if "://" in str(where):
        from harness.store import open_results_store

        return open_results_store(str(where)).crashes
    return open_store(Path(where))
