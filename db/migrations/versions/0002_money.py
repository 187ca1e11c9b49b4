"""money

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Price list, payment types, receipts, payments, expenses, cash movements, shifts, commission.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# kind, ru, uk — the owner edits the list later.
PAYMENT_TYPES = [
    ("cash", "Наличные", "Готівка"),
    ("cashless", "Карта", "Картка"),
]
TICKET_COLUMNS = ("commission", "commission_bp", "commission_base")


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _time() -> db.base.UTCDateTime:
    return db.base.UTCDateTime(timezone=True)


def _fiscal(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("fiscal_state", _enum("fiscal_state", "not_fiscal", "pending", "done", "error"), nullable=False),
        sa.Column("fiscal_id", sa.String(length=36), nullable=True),
        sa.Column("fiscal_code", sa.String(length=64), nullable=True),
        sa.Column("fiscal_date", _time(), nullable=True),
        sa.Column("tax_url", sa.String(length=512), nullable=True),
        sa.Column("fiscal_error", sa.Text(), nullable=True),
        sa.Column("fiscal_attempts", sa.Integer(), nullable=False),
        sa.Column("fiscal_updated_at", _time(), nullable=True),
        sa.UniqueConstraint("fiscal_id", name=op.f(f"uq_{table}_fiscal_id")),
    ]


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "payment_types",
        sa.Column("id", _id(), nullable=False),
        sa.Column("name_ru", sa.String(length=64), nullable=False),
        sa.Column("name_uk", sa.String(length=64), nullable=False),
        sa.Column("kind", _enum("payment_kind", "cash", "cashless"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_types")),
    )
    op.create_table(
        "services",
        sa.Column("id", _id(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("search_name", sa.String(length=256), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_services_price")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("code", name=op.f("uq_services_code")),
    )
    op.create_table(
        "shifts",
        sa.Column("id", _id(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("status", _enum("shift_status", "open", "closed"), nullable=False),
        sa.Column("opened_at", _time(), nullable=False),
        sa.Column("opened_by_id", _id(), nullable=True),
        sa.Column("closed_at", _time(), nullable=True),
        sa.Column("closed_by_id", _id(), nullable=True),
        sa.Column("fiscal_shift_id", sa.String(length=36), nullable=True),
        sa.Column("drawer_at_open", sa.BigInteger(), nullable=False),
        sa.Column("drawer_at_close", sa.BigInteger(), nullable=True),
        sa.Column("z_report", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["closed_by_id"], ["staff.id"], name=op.f("fk_shifts_closed_by_id_staff")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["staff.id"], name=op.f("fk_shifts_opened_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
        sa.UniqueConstraint("number", name=op.f("uq_shifts_number")),
    )
    # At most one open shift, on SQLite and PostgreSQL alike.
    op.create_index(
        "uq_shifts_one_open", "shifts", ["status"], unique=True,
        sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "receipts",
        sa.Column("id", _id(), nullable=False),
        sa.Column("kind", _enum("receipt_kind", "sale", "refund"), nullable=False),
        sa.Column("status", _enum("receipt_status", "unpaid", "paid"), nullable=False),
        sa.Column("ticket_id", _id(), nullable=True),
        sa.Column("related_receipt_id", _id(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("created_by_id", _id(), nullable=True),
        sa.Column("paid_at", _time(), nullable=True),
        sa.Column("paid_by_id", _id(), nullable=True),
        sa.Column("shift_id", _id(), nullable=True),
        *_fiscal("receipts"),
        sa.CheckConstraint("(kind = 'refund') = (related_receipt_id IS NOT NULL)", name=op.f("ck_receipts_refund_related")),
        sa.CheckConstraint("status = 'unpaid' OR paid_at IS NOT NULL", name=op.f("ck_receipts_paid_at")),
        sa.CheckConstraint("change >= 0", name=op.f("ck_receipts_change")),
        sa.CheckConstraint("total >= 0", name=op.f("ck_receipts_total")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff.id"], name=op.f("fk_receipts_created_by_id_staff")),
        sa.ForeignKeyConstraint(["paid_by_id"], ["staff.id"], name=op.f("fk_receipts_paid_by_id_staff")),
        sa.ForeignKeyConstraint(["related_receipt_id"], ["receipts.id"], name=op.f("fk_receipts_related_receipt_id_receipts"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_receipts_shift_id_shifts")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_receipts_ticket_id_tickets"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
    )
    _indexes("receipts", "fiscal_state", "paid_at", "related_receipt_id", "shift_id", "ticket_id")
    op.create_table(
        "receipt_lines",
        sa.Column("id", _id(), nullable=False),
        sa.Column("receipt_id", _id(), nullable=False),
        sa.Column("service_id", _id(), nullable=True),
        sa.Column("refund_of_line_id", _id(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_receipt_lines_amount")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_receipt_lines_price")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_receipt_lines_quantity")),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"], name=op.f("fk_receipt_lines_receipt_id_receipts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["refund_of_line_id"], ["receipt_lines.id"], name=op.f("fk_receipt_lines_refund_of_line_id_receipt_lines"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_receipt_lines_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_lines")),
    )
    _indexes("receipt_lines", "receipt_id", "refund_of_line_id")
    op.create_table(
        "payments",
        sa.Column("id", _id(), nullable=False),
        sa.Column("receipt_id", _id(), nullable=False),
        sa.Column("payment_type_id", _id(), nullable=False),
        sa.Column("kind", _enum("payment_part_kind", "cash", "cashless"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=True),
        sa.Column("change", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", _id(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("shift_id", _id(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount")),
        sa.CheckConstraint("change >= 0", name=op.f("ck_payments_change")),
        sa.CheckConstraint("received IS NULL OR received = amount + change", name=op.f("ck_payments_received")),
        sa.ForeignKeyConstraint(["payment_type_id"], ["payment_types.id"], name=op.f("fk_payments_payment_type_id_payment_types")),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"], name=op.f("fk_payments_receipt_id_receipts"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_payments_shift_id_shifts")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_payments_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    _indexes("payments", "created_at", "receipt_id", "shift_id")
    op.create_table(
        "expenses",
        sa.Column("id", _id(), nullable=False),
        sa.Column("ticket_id", _id(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("payment_type_id", _id(), nullable=False),
        sa.Column("kind", _enum("expense_kind", "cash", "cashless"), nullable=False),
        sa.Column("staff_id", _id(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("shift_id", _id(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_expenses_amount")),
        sa.ForeignKeyConstraint(["payment_type_id"], ["payment_types.id"], name=op.f("fk_expenses_payment_type_id_payment_types")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_expenses_shift_id_shifts")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_expenses_staff_id_staff")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_expenses_ticket_id_tickets"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expenses")),
    )
    _indexes("expenses", "created_at", "shift_id", "ticket_id")
    op.create_table(
        "cash_moves",
        sa.Column("id", _id(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("staff_id", _id(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("shift_id", _id(), nullable=False),
        *_fiscal("cash_moves"),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_cash_moves_amount")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_cash_moves_shift_id_shifts")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_cash_moves_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_moves")),
    )
    _indexes("cash_moves", "created_at", "fiscal_state", "shift_id")

    # Plain ADD COLUMN (no batch copy of tickets): nullable, no constraints.
    op.add_column("tickets", sa.Column("commission", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("commission_bp", sa.Integer(), nullable=True))
    op.add_column("tickets", sa.Column("commission_base", sa.BigInteger(), nullable=True))

    payment_types = sa.table(
        "payment_types",
        sa.column("name_ru", sa.String),
        sa.column("name_uk", sa.String),
        sa.column("kind", sa.String),
        sa.column("position", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        payment_types,
        [
            {"name_ru": ru, "name_uk": uk, "kind": kind, "position": i * 10, "active": True}
            for i, (kind, ru, uk) in enumerate(PAYMENT_TYPES, start=1)
        ],
    )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": "shift", "value": 0}])


def downgrade() -> None:
    # Native DROP COLUMN (SQLite ≥ 3.35): a batch copy of tickets would DROP TABLE it, and
    # with foreign keys on that cascades into comments and history.
    for column in reversed(TICKET_COLUMNS):
        op.drop_column("tickets", column)
    op.execute(sa.text("DELETE FROM counters WHERE name = 'shift'"))
    for table in ("cash_moves", "expenses", "payments", "receipt_lines", "receipts", "shifts",
                  "services", "payment_types"):
        op.drop_table(table)
