"""money that matches the books

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

receipt_lines.by_amount: a refund of an amount (not of items). cash_moves.expense_id: the
PRRO service receipt mirroring a cash expense (the drawer counts the expense, not the row).
commission_adjustments: a closed ticket's commission following a later refund or payment.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("receipt_lines", sa.Column("by_amount", sa.Boolean(), nullable=False,
                                             server_default=sa.text("false")))
    op.add_column("cash_moves", sa.Column("expense_id", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_cash_moves_expense_id"), "cash_moves", ["expense_id"],
                    unique=False)
    op.create_table(
        "commission_adjustments",
        sa.Column("id", _id(), nullable=False),
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("master_id", _id(), nullable=True),
        sa.Column("receipt_id", _id(), nullable=True),
        sa.Column("base_delta", sa.BigInteger(), nullable=False),
        sa.Column("bp", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["master_id"], ["staff.id"],
                                name=op.f("fk_commission_adjustments_master_id_staff")),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"],
                                name=op.f("fk_commission_adjustments_receipt_id_receipts")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_commission_adjustments_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_adjustments")),
    )
    op.create_index(op.f("ix_commission_adjustments_ticket_id"), "commission_adjustments",
                    ["ticket_id"], unique=False)
    op.create_index(op.f("ix_commission_adjustments_created_at"), "commission_adjustments",
                    ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_commission_adjustments_created_at"),
                  table_name="commission_adjustments")
    op.drop_index(op.f("ix_commission_adjustments_ticket_id"),
                  table_name="commission_adjustments")
    op.drop_table("commission_adjustments")
    op.drop_index(op.f("ix_cash_moves_expense_id"), table_name="cash_moves")
    with op.batch_alter_table("cash_moves") as batch:
        batch.drop_column("expense_id")
    with op.batch_alter_table("receipt_lines") as batch:
        batch.drop_column("by_amount")
