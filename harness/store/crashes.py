"""The triage `CrashStore` Protocol kept in the results store: crash occurrences beside the
runs that hit them, and each bucket's state (open until someone closes it) for sign-off.

Buckets are derived from occurrences as in harness.triage.store (never stored), so they
cannot drift from the crashes they group.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import msgspec
import sqlalchemy as sa

from harness.errors import InputError
from harness.store import schema as t
from harness.store.rows import now
from harness.triage.store import Bucket, Occurrence

if TYPE_CHECKING:
    from harness.store.results import ResultsStore

__all__ = ["ResultsCrashStore"]


class ResultsCrashStore:
    """A CrashStore (harness.triage.store) in the results store's tables."""

    def __init__(self, store: ResultsStore) -> None:
        self._store = store
        self._encode = msgspec.json.Encoder()
        self._decode = msgspec.json.Decoder(Occurrence)
        self.run_id: str | None = None
        """Occurrences added while this is set are linked to that run."""

    def add(self, occurrence: Occurrence) -> bool:
        crash = occurrence.crash

        def go(c: sa.Connection) -> bool:
            seen = c.execute(
                sa.select(t.occurrence.c.source)
                .where(t.occurrence.c.bucket == crash.bucket)
                .limit(1)
            ).first()
            if (
                c.execute(
                    sa.select(t.occurrence.c.source).where(
                        t.occurrence.c.source == occurrence.source
                    )
                ).first()
                is None
            ):
                c.execute(
                    t.occurrence.insert().values(
                        source=occurrence.source,
                        bucket=crash.bucket,
                        title=crash.title,
                        platform=crash.platform,
                        time=occurrence.time,
                        scenario=occurrence.scenario,
                        driver_build=occurrence.driver_build,
                        guest_build=occurrence.guest_build,
                        dump=occurrence.dump,
                        corrupted=int(crash.corrupted is not None),
                        run_id=self.run_id,
                        body=self._encode.encode(occurrence),
                    )
                )
            return seen is None

        return self._store.write(go)

    def _buckets(self, where: sa.ColumnElement[bool] | None = None) -> list[Bucket]:
        o = t.occurrence
        q = sa.select(
            o.c.bucket,
            o.c.title,
            o.c.platform,
            o.c.time,
            o.c.scenario,
            o.c.driver_build,
            o.c.dump,
            o.c.corrupted,
        ).order_by(o.c.bucket, o.c.time)
        if where is not None:
            q = q.where(where)
        grouped: dict[str, list[sa.Row[tuple[str, ...]]]] = {}
        for row in self._store.read(q):
            grouped.setdefault(row.bucket, []).append(row)
        out = []
        for bucket, rows in grouped.items():

            def distinct(name: str, rows: list[sa.Row[tuple[str, ...]]] = rows) -> tuple[str, ...]:
                return tuple(sorted({getattr(r, name) for r in rows if getattr(r, name)}))

            out.append(
                Bucket(
                    id=bucket,
                    title=rows[0].title,
                    platform=rows[0].platform,
                    first_seen=rows[0].time,
                    last_seen=rows[-1].time,
                    count=len(rows),
                    scenarios=distinct("scenario"),
                    driver_builds=distinct("driver_build"),
                    dumps=distinct("dump"),
                    corrupted=sum(int(r.corrupted) for r in rows),
                )
            )
        return sorted(out, key=lambda b: (b.last_seen, b.id), reverse=True)

    def buckets(self) -> list[Bucket]:
        return self._buckets()

    def bucket(self, ident: str) -> Bucket | None:
        prefix = ident.replace("%", "").replace("_", "")
        found = self._buckets(t.occurrence.c.bucket.startswith(prefix))
        if len(found) > 1:
            raise InputError(
                f"bucket {ident!r} is ambiguous: it starts "
                f"{', '.join(b.id for b in found)}; give more of the id"
            )
        return found[0] if found else None

    def occurrences(self, bucket: str) -> list[Occurrence]:
        rows = self._store.read(
            sa.select(t.occurrence.c.body)
            .where(t.occurrence.c.bucket == bucket)
            .order_by(t.occurrence.c.time)
        )
        return [self._decode.decode(r.body) for r in rows]

    def set_dump(self, source: str, dump: str | None) -> None:
        def go(c: sa.Connection) -> None:
            row = c.execute(
                sa.select(t.occurrence.c.body).where(t.occurrence.c.source == source)
            ).first()
            if row is None:
                return
            occurrence = self._decode.decode(row.body)
            occurrence.dump = dump
            c.execute(
                t.occurrence.update()
                .where(t.occurrence.c.source == source)
                .values(dump=dump, body=self._encode.encode(occurrence))
            )

        self._store.write(go)

    def close(self) -> None:
        self._store.close()

    # -- beyond the Protocol: bucket states for sign-off ----------------------------------

    def set_state(self, bucket: str, state: str, note: str = "") -> None:
        """Open or close a bucket (a closed bucket no longer blocks a sign-off)."""
        if self.bucket(bucket) is None:
            raise InputError(
                f"no crash bucket {bucket!r} in the store; `harness triage STORE` lists them"
            )
        full = self.bucket(bucket)
        assert full is not None

        def go(c: sa.Connection) -> None:
            c.execute(t.bucket_state.delete().where(t.bucket_state.c.bucket == full.id))
            c.execute(
                t.bucket_state.insert().values(
                    bucket=full.id, state=state, note=note, changed=now()
                )
            )

        self._store.write(go)

    def open_buckets(self, driver_builds: set[str], runs: Collection[str] = ()) -> list[Bucket]:
        """Buckets not closed that were seen on any of `driver_builds` or in any of `runs`."""
        closed = {
            r.bucket
            for r in self._store.read(
                sa.select(t.bucket_state.c.bucket).where(t.bucket_state.c.state == "closed")
            )
        }
        o = t.occurrence
        seen = {
            r.bucket
            for r in self._store.read(
                sa.select(o.c.bucket).where(
                    sa.or_(o.c.driver_build.in_(driver_builds), o.c.run_id.in_(runs))
                )
            )
        }
        return [b for b in self._buckets() if b.id in seen and b.id not in closed]
