"""report indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Indexes the owner's reports (db/reports/queries.py) range over, beyond those 0001/0002 made
(payments/expenses/cash_moves/tickets created_at, receipts.paid_at, tickets.closed_at):

- status_history(created_at): "tickets that became ready" of a day or period.
- receipts(status, paid_at): every receipt aggregate and the receipts list filter on
  status = 'paid' and a paid_at range. With only (paid_at), SQLite's planner prefers an
  automatic index on the equality (status) and scans every paid receipt once per day of a
  period (a year by day took ~1 s on 15 000 receipts; with this index ~10 ms). It also
  serves the list's ORDER BY paid_at DESC.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_status_history_created_at", "status_history", ["created_at"])
    op.create_index("ix_receipts_status_paid_at", "receipts", ["status", "paid_at"])


def downgrade() -> None:
    op.drop_index("ix_receipts_status_paid_at", table_name="receipts")
    op.drop_index("ix_status_history_created_at", table_name="status_history")
