"""report rollups

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`report_rollups`: the report's measures per closed local day (db/reports/models.py), and the
triggers that keep it honest: any row inserted, changed or deleted in the books deletes the
rollup of the day its timestamp falls in (before and after the change), whatever wrote it —
the app, an import, a restore or a person with psql. On PostgreSQL a change of a row older
than an hour also takes a shared advisory lock, which the builder takes exclusively: a day is
never rolled up from a snapshot that misses a concurrent change of it (db/reports/rollups.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# db.locks.lock_key("report_rollups"); db.reports.rollups.BUILD_LOCK is the same number
BUILD_LOCK = 4193304470956880933

# table → (its timestamps that place a row in a day, the columns whose change matters or None
# for any column)
SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "payments": (("created_at",), None),
    "receipts": (("paid_at",), None),
    "expenses": (("created_at",), None),
    "cash_moves": (("created_at",), None),
    "tickets": (("created_at", "closed_at"),
                ("created_at", "closed_at", "status_id", "master_id", "commission",
                 "commission_base", "commission_bp")),
    "status_history": (("created_at",), None),
    "commission_adjustments": (("created_at",), None),
    "outbox": (("sent_at",), ("sent_at", "state", "channel", "kind")),
}


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column("id", _id(), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("lo", db.base.UTCDateTime(), nullable=False),
        sa.Column("hi", db.base.UTCDateTime(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("k_int", sa.BigInteger(), nullable=True),
        sa.Column("k_a", sa.String(length=32), nullable=True),
        sa.Column("k_b", sa.String(length=32), nullable=True),
        sa.Column("v1", sa.BigInteger(), nullable=False),
        sa.Column("v2", sa.BigInteger(), nullable=False),
        sa.Column("v3", sa.BigInteger(), nullable=False),
        sa.Column("v4", sa.BigInteger(), nullable=True),
        sa.Column("v5", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_rollups")),
    )
    op.create_index("ix_report_rollups_hi", "report_rollups", ["hi"], unique=False)
    op.create_index("ix_report_rollups_tz_lo", "report_rollups", ["tz", "lo"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _stale(ref: str) -> str:
    return f"DELETE FROM report_rollups WHERE hi > {ref} AND lo <= {ref};"


def _sqlite_triggers() -> None:
    for table, (stamps, columns) in SOURCES.items():
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        for name, event, refs in (("insert", "INSERT", ("NEW",)),
                                  ("update", update, ("OLD", "NEW")),
                                  ("delete", "DELETE", ("OLD",))):
            body = " ".join(_stale(f"{ref}.{stamp}") for ref in refs for stamp in stamps)
            op.execute(f"CREATE TRIGGER trg_rollups_{table}_{name} AFTER {event} ON {table} "
                       f"BEGIN {body} END")
    op.execute("CREATE TRIGGER trg_rollups_statuses_update AFTER UPDATE OF kind ON statuses "
               "BEGIN DELETE FROM report_rollups; END")


def _postgresql_triggers() -> None:
    op.execute(f"""
CREATE FUNCTION report_rollups_stale(t timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF t IS NULL THEN
        RETURN;
    END IF;
    IF t < now() - interval '1 hour' THEN
        PERFORM pg_advisory_xact_lock_shared({BUILD_LOCK});
    END IF;
    {_stale("t")}
END $$""")
    for table, (stamps, columns) in SOURCES.items():
        old = " ".join(f"PERFORM report_rollups_stale(OLD.{s});" for s in stamps)
        new = " ".join(f"PERFORM report_rollups_stale(NEW.{s});" for s in stamps)
        op.execute(f"""
CREATE FUNCTION report_rollups_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN {old} END IF;
    IF TG_OP <> 'DELETE' THEN {new} END IF;
    RETURN NULL;
END $$""")
        of = f" OF {', '.join(columns)}" if columns else ""
        op.execute(f"CREATE TRIGGER trg_rollups AFTER INSERT OR UPDATE{of} OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION report_rollups_{table}()")
    op.execute(f"""
CREATE FUNCTION report_rollups_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({BUILD_LOCK});
    DELETE FROM report_rollups;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER trg_rollups AFTER UPDATE OF kind ON statuses "
               "FOR EACH ROW EXECUTE FUNCTION report_rollups_statuses()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*SOURCES, "statuses"):
            op.execute(f"DROP TRIGGER trg_rollups ON {table}")
            op.execute(f"DROP FUNCTION report_rollups_{table}()")
        op.execute("DROP FUNCTION report_rollups_stale(timestamptz)")
    else:
        for table in SOURCES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER trg_rollups_{table}_{event}")
        op.execute("DROP TRIGGER trg_rollups_statuses_update")
    op.drop_index("ix_report_rollups_tz_lo", table_name="report_rollups")
    op.drop_index("ix_report_rollups_hi", table_name="report_rollups")
    op.drop_table("report_rollups")
