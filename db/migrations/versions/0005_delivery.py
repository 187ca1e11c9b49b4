"""updates applied once, forms kept

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

processed_updates: the Telegram updates already applied (a redelivery after a crash is
skipped). fsm_states: the forms people are in the middle of (aiogram FSM), so a restart
keeps them on the embedded default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_updates",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index(op.f("ix_processed_updates_processed_at"), "processed_updates",
                    ["processed_at"], unique=False)
    op.create_table(
        "fsm_states",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fsm_states")),
    )


def downgrade() -> None:
    op.drop_table("fsm_states")
    op.drop_index(op.f("ix_processed_updates_processed_at"), table_name="processed_updates")
    op.drop_table("processed_updates")
