"""The first schema: runs, cells, attempts, results, violations, driver files, crashes and
bucket states (written by Alembic's autogenerate from harness/store/schema.py).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bucket_state",
        sa.Column("bucket", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changed", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("bucket"),
    )
    op.create_table(
        "driver_file",
        sa.Column("build_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("build_id", "name"),
    )
    op.create_table(
        "occurrence",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("bucket", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("time", sa.String(length=32), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=True),
        sa.Column("driver_build", sa.Text(), nullable=True),
        sa.Column("guest_build", sa.Text(), nullable=True),
        sa.Column("dump", sa.Text(), nullable=True),
        sa.Column("corrupted", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_index("occurrence_bucket", "occurrence", ["bucket", "time"], unique=False)
    op.create_table(
        "run",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("plan_path", sa.Text(), nullable=False),
        sa.Column("plan_digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started", sa.String(length=32), nullable=False),
        sa.Column("finished", sa.String(length=32), nullable=True),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("directory", sa.Text(), nullable=False),
        sa.Column("harness_version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("run_plan", "run", ["plan", "started"], unique=False)
    op.create_table(
        "cell",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("build", sa.String(length=64), nullable=False),
        sa.Column("build_id", sa.Text(), nullable=False),
        sa.Column("convention", sa.String(length=16), nullable=True),
        sa.Column("selection", sa.String(length=64), nullable=False),
        sa.Column("keyword", sa.Text(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=True),
        sa.Column("machine", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "key", name="cell_run_key"),
    )
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cell_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("machine", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started", sa.String(length=32), nullable=False),
        sa.Column("finished", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cell_id"],
            ["cell.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cell_id", "number", name="attempt_cell_number"),
    )
    op.create_table(
        "result",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("cell_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("repetition", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("trace", sa.Text(), nullable=True),
        sa.Column("guest_build", sa.Text(), nullable=False),
        sa.Column("driver_hash", sa.String(length=64), nullable=False),
        sa.Column("harness_version", sa.String(length=64), nullable=False),
        sa.Column("convention", sa.String(length=16), nullable=True),
        sa.Column("feature", sa.String(length=16), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempt.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cell_id"],
            ["cell.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "scenario", "repetition", name="result_attempt_case"),
    )
    op.create_index("result_cell", "result", ["cell_id", "final"], unique=False)
    op.create_index(
        "result_history",
        "result",
        [
            "scenario",
            "final",
            "run_id",
            "cell_id",
            "repetition",
            "verdict",
            "guest_build",
            "driver_hash",
            "harness_version",
        ],
        unique=False,
    )
    op.create_table(
        "violation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("invariant", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["result_id"], ["result.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("violation_result", "violation", ["result_id"], unique=False)


def downgrade() -> None:
    op.drop_index("violation_result", table_name="violation")
    op.drop_table("violation")
    op.drop_index("result_history", table_name="result")
    op.drop_index("result_cell", table_name="result")
    op.drop_table("result")
    op.drop_table("attempt")
    op.drop_table("cell")
    op.drop_index("run_plan", table_name="run")
    op.drop_table("run")
    op.drop_index("occurrence_bucket", table_name="occurrence")
    op.drop_table("occurrence")
    op.drop_table("driver_file")
    op.drop_table("bucket_state")
