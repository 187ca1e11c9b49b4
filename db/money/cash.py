"""Service cash in and out of the drawer (change money brought in, takings taken out).

Rules
- Owners and managers only; a reason is required; the amount is signed (+ in, − out).
- Cash out cannot exceed the drawer (DrawerShort), checked under the open shift's lock.
- A move belongs to the open shift (opened now if none; ShiftTooOld when 24 h old) and
  carries fiscal columns: it is a PRRO service receipt (`pending` when `fiscal=True`).
The balance and the day's movements are read in db.money.drawer.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import signals
from db.access import require_manager
from db.audit import audit
from db.base import utcnow
from db.desk.models import Staff
from db.errors import required_line
from db.money.amounts import check_amount
from db.money.errors import InvalidAmount
from db.money.models import CashMove, FiscalState
from db.money.shifts import shift_for_money

REASON_MAX = 500


async def service_cash(
    session: AsyncSession, actor: Staff, amount_signed: int, reason: str,
    now: datetime | None = None, *, fiscal: bool = False,
) -> CashMove:
    require_manager(actor)
    now = now or utcnow()
    text = required_line(reason, "reason", REASON_MAX)
    if not isinstance(amount_signed, int) or isinstance(amount_signed, bool):
        raise InvalidAmount("format", repr(amount_signed))
    if amount_signed == 0:
        raise InvalidAmount("zero", "0")
    check_amount(abs(amount_signed))
    shift = await shift_for_money(session, actor, now, cash_out=max(0, -amount_signed))
    move = CashMove(amount=amount_signed, reason=text, staff_id=actor.id, created_at=now,
                    shift_id=shift.id, fiscal_id=str(uuid.uuid4()), fiscal_attempts=0,
                    fiscal_state=FiscalState.PENDING if fiscal else FiscalState.NOT_FISCAL,
                    fiscal_updated_at=now)
    session.add(move)
    await session.flush()
    if fiscal:
        signals.mark(session, signals.FISCAL)
    audit(session, actor, "cash.service", "cash_move", move.id, amount=amount_signed,
          reason=text, shift_id=shift.id, fiscal=fiscal)
    return move
