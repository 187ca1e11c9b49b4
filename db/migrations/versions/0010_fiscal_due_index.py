"""fiscal due index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

`ix_receipts_fiscal_due`: the receipts waiting for the PRRO, a partial index on
(paid_at, id) WHERE fiscal_state = 'pending', the order the fiscal queue claims them in
(db/fiscal/queue.py `claim_due`, `next_due_at`). SQLite keeps one average per index, so
`ix_receipts_fiscal_state` looks useless to it when nearly every receipt has the same state,
and it scanned a year's receipts at every claim (0.24 s at chain size) while holding the
write lock. PostgreSQL planned well already; the index costs it nothing to keep.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PENDING = sa.text("fiscal_state = 'pending'")


def upgrade() -> None:
    op.create_index("ix_receipts_fiscal_due", "receipts", ["paid_at", "id"],
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_receipts_fiscal_due", table_name="receipts")
