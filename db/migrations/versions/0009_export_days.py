"""export days

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

`export_days`: a rolled-up day's receipts export text (db/reports/models.py), hung on the
day's marker row in `report_rollups` with ON DELETE CASCADE, so every trigger of migration
0008 that drops a day drops its text too. The export shows a few things the rollups do not
depend on; these triggers drop them as well, whatever wrote the change:
- a receipt line inserted, changed or deleted: the day its receipt was paid in;
- a ticket's master changed: the days its receipts were paid in (the "Мастер" column);
- a staff member or a payment type renamed: every day's text (names are in the rows).
On PostgreSQL they take the same shared advisory lock as 0008's for old rows, so the builder
(which holds it exclusively) never stores a text from a snapshot missing such a change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# db.reports.rollups.BUILD_LOCK
BUILD_LOCK = 4193304470956880933

# (table, the columns whose change renames something shown in every day's rows)
RENAMES = (("staff", ("name",)), ("payment_types", ("name_ru", "name_uk")))


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "export_days",
        sa.Column("id", _id(), nullable=False),
        sa.Column("rollup_id", _id(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["rollup_id"], ["report_rollups.id"], ondelete="CASCADE",
                                name=op.f("fk_export_days_rollup_id_report_rollups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_days")),
        sa.UniqueConstraint("rollup_id", "lang", name=op.f("uq_export_days_rollup_id")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _sqlite_stale(paid_at: str) -> str:
    # the scalar subquery is one value per firing: the range is an index probe on `hi`
    return (f"DELETE FROM report_rollups WHERE hi > ({paid_at}) AND lo <= ({paid_at});")


def _sqlite_triggers() -> None:
    for name, event, refs in (("insert", "INSERT", ("NEW",)),
                              ("update", "UPDATE", ("OLD", "NEW")),
                              ("delete", "DELETE", ("OLD",))):
        body = " ".join(_sqlite_stale(f"SELECT paid_at FROM receipts WHERE id = {ref}.receipt_id")
                        for ref in refs)
        op.execute(f"CREATE TRIGGER trg_export_receipt_lines_{name} AFTER {event} "
                   f"ON receipt_lines BEGIN {body} END")
    op.execute(
        "CREATE TRIGGER trg_export_tickets_master AFTER UPDATE OF master_id ON tickets "
        "WHEN OLD.master_id IS NOT NEW.master_id BEGIN "
        "DELETE FROM report_rollups WHERE id IN (SELECT d.id FROM receipts r "
        "JOIN report_rollups d ON d.hi > r.paid_at AND d.lo <= r.paid_at "
        "WHERE r.ticket_id = NEW.id); END")
    for table, columns in RENAMES:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        op.execute(f"CREATE TRIGGER trg_export_{table}_rename AFTER UPDATE OF "
                   f"{', '.join(columns)} ON {table} WHEN {changed} "
                   f"BEGIN DELETE FROM export_days; END")


def _postgresql_triggers() -> None:
    op.execute("""
CREATE FUNCTION export_days_receipt_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM report_rollups_stale(paid_at) FROM receipts WHERE id = OLD.receipt_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM report_rollups_stale(paid_at) FROM receipts WHERE id = NEW.receipt_id;
    END IF;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER trg_export_days AFTER INSERT OR UPDATE OR DELETE ON receipt_lines "
               "FOR EACH ROW EXECUTE FUNCTION export_days_receipt_lines()")
    op.execute("""
CREATE FUNCTION export_days_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_rollups_stale(paid_at) FROM receipts WHERE ticket_id = NEW.id;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER trg_export_days AFTER UPDATE OF master_id ON tickets "
               "FOR EACH ROW WHEN (OLD.master_id IS DISTINCT FROM NEW.master_id) "
               "EXECUTE FUNCTION export_days_tickets()")
    op.execute(f"""
CREATE FUNCTION export_days_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({BUILD_LOCK});
    DELETE FROM export_days;
    RETURN NULL;
END $$""")
    for table, columns in RENAMES:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(f"CREATE TRIGGER trg_export_days AFTER UPDATE OF {', '.join(columns)} "
                   f"ON {table} FOR EACH ROW WHEN ({changed}) "
                   f"EXECUTE FUNCTION export_days_renamed()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("receipt_lines", "tickets", *(t for t, _ in RENAMES)):
            op.execute(f"DROP TRIGGER trg_export_days ON {table}")
        for function in ("receipt_lines", "tickets", "renamed"):
            op.execute(f"DROP FUNCTION export_days_{function}()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER trg_export_receipt_lines_{event}")
        op.execute("DROP TRIGGER trg_export_tickets_master")
        for table, _ in RENAMES:
            op.execute(f"DROP TRIGGER trg_export_{table}_rename")
    op.drop_table("export_days")
