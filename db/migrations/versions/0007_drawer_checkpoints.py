"""drawer checkpoints

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

The drawer's balance is now read from the last Z-report's `drawer_at_close` plus the rows of
the shifts after it (db/money/drawer.py), instead of summing every cash row ever. So each
closed shift's `drawer_at_close` must be exactly the all-time sum of the cash rows of that
shift and the ones before it (by id). This recomputes it once from the rows (a running sum
over one grouped query per table), so the balance after the upgrade is what the all-time
sum gave before it, also for shops whose older shifts lack the figure. No schema change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Signed cash per shift: sales in, refunds out, cash expenses out, service moves as signed.
PER_SHIFT = (
    """SELECT p.shift_id, SUM(CASE WHEN r.kind = 'sale' THEN p.amount ELSE -p.amount END)
       FROM payments p JOIN receipts r ON r.id = p.receipt_id
       WHERE p.kind = 'cash' GROUP BY p.shift_id""",
    "SELECT shift_id, -SUM(amount) FROM expenses WHERE kind = 'cash' GROUP BY shift_id",
    # A cash expense's PRRO service receipt (`expense_id`) is not a second movement of cash.
    "SELECT shift_id, SUM(amount) FROM cash_moves WHERE expense_id IS NULL GROUP BY shift_id",
)


def upgrade() -> None:
    bind = op.get_bind()
    per_shift: dict[int, int] = {}
    for query in PER_SHIFT:
        for shift_id, amount in bind.execute(sa.text(query)):
            per_shift[shift_id] = per_shift.get(shift_id, 0) + int(amount)
    shifts = bind.execute(sa.text("SELECT id, status, drawer_at_close FROM shifts ORDER BY id"))
    running = 0
    changed: list[dict[str, int]] = []
    for shift_id, status, stored in shifts.all():
        running += per_shift.get(shift_id, 0)
        if status == "closed" and stored != running:
            changed.append({"id": shift_id, "drawer": running})
    if changed:
        bind.execute(sa.text("UPDATE shifts SET drawer_at_close = :drawer WHERE id = :id"),
                     changed)


def downgrade() -> None:
    """Nothing to undo: the figures stay correct for the all-time sum as well."""
