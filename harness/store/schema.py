"""The results store's tables (SQLAlchemy Core), the one place the schema is written down.

    run ─< cell ─< attempt ─< result ─< violation
                                  driver_file (build_id, name) -> sha256
    occurrence (crashes, the triage buckets' rows)   bucket_state (open / closed)

A cell is the unit of resumption: its attempts are tried in turn (an infrastructure error is
retried on another machine); only the results of its final attempt count (`result.final`),
so history never sees a retried or abandoned attempt twice. Inputs that decide whether a
verdict change is a regression or flakiness (guest build, driver hash, harness version) are
kept on every result, beside the verdict, so history is one indexed scan.
Migrations (harness/store/migrations) must produce exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "attempt",
    "bucket_state",
    "cell",
    "driver_file",
    "metadata",
    "occurrence",
    "result",
    "run",
    "violation",
]

metadata = MetaData()

run = Table(
    "run",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("plan", String(64), nullable=False),
    Column("plan_path", Text, nullable=False),
    Column("plan_digest", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # nightly | signoff
    Column("state", String(16), nullable=False),  # running | done | interrupted
    Column("started", String(32), nullable=False),
    Column("finished", String(32)),
    Column("host", Text, nullable=False),
    Column("directory", Text, nullable=False),
    Column("harness_version", String(64), nullable=False),
    Index("run_plan", "plan", "started"),
)

cell = Table(
    "cell",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("run.id"), nullable=False),
    Column("key", Text, nullable=False),
    Column("target", String(64), nullable=False),
    Column("spec", Text, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("build", String(64), nullable=False),
    Column("build_id", Text, nullable=False),
    Column("convention", String(16)),
    Column("selection", String(64), nullable=False),
    Column("keyword", Text, nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("required", Boolean, nullable=False),
    Column("state", String(16), nullable=False),  # pending | running | done
    Column("attempts", Integer, nullable=False, default=0),
    Column("verdict", String(32)),  # the worst verdict of the final attempt
    Column("machine", Text),
    UniqueConstraint("run_id", "key", name="cell_run_key"),
)

attempt = Table(
    "attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cell_id", Integer, ForeignKey("cell.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("machine", Text, nullable=False),
    Column("state", String(16), nullable=False),  # running | final | retried | abandoned
    Column("started", String(32), nullable=False),
    Column("finished", String(32)),
    Column("error", Text),
    UniqueConstraint("cell_id", "number", name="attempt_cell_number"),
)

result = Table(
    "result",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("run.id"), nullable=False),
    Column("cell_id", Integer, ForeignKey("cell.id"), nullable=False),
    Column("attempt_id", Integer, ForeignKey("attempt.id"), nullable=False),
    Column("scenario", Text, nullable=False),
    Column("repetition", Integer, nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("duration", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("trace", Text),
    Column("guest_build", Text, nullable=False),
    Column("driver_hash", String(64), nullable=False),
    Column("harness_version", String(64), nullable=False),
    Column("convention", String(16)),  # measured (facts["convention"])
    Column("feature", String(16)),  # measured (facts["feature"])
    Column("facts", Text, nullable=False),  # JSON object
    Column("final", Boolean, nullable=False),
    UniqueConstraint("attempt_id", "scenario", "repetition", name="result_attempt_case"),
    # covering: a scenario's history is read from the index alone (bench/bench_nightly.py)
    Index(
        "result_history",
        "scenario",
        "final",
        "run_id",
        "cell_id",
        "repetition",
        "verdict",
        "guest_build",
        "driver_hash",
        "harness_version",
    ),
    Index("result_cell", "cell_id", "final"),
)

violation = Table(
    "violation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("result_id", Integer, ForeignKey("result.id", ondelete="CASCADE"), nullable=False),
    Column("invariant", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("records", Text, nullable=False),  # JSON list of seq numbers
    Index("violation_result", "result_id"),
)

driver_file = Table(
    "driver_file",
    metadata,
    Column("build_id", String(128), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("sha256", String(64), nullable=False),
)

occurrence = Table(
    "occurrence",
    metadata,
    Column("source", Text, primary_key=True),
    Column("bucket", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("platform", String(16), nullable=False),
    Column("time", String(32), nullable=False),
    Column("scenario", Text),
    Column("driver_build", Text),
    Column("guest_build", Text),
    Column("dump", Text),
    Column("corrupted", Integer, nullable=False),
    Column("run_id", String(64)),
    Column("body", LargeBinary, nullable=False),
    Index("occurrence_bucket", "bucket", "time"),
)

bucket_state = Table(
    "bucket_state",
    metadata,
    Column("bucket", String(16), primary_key=True),
    Column("state", String(16), nullable=False),  # open | closed
    Column("note", Text, nullable=False),
    Column("changed", String(32), nullable=False),
)
