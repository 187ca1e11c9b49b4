"""Expenses: money spent on a ticket (parts) or on the shop (`ticket_id=None`).

Rules
- Any active staff member adds one: what, amount, payment type. It belongs to the open shift
  (opened now if none; refused with ShiftTooOld when that shift is 24 h old).
- A cash expense leaves the drawer and cannot exceed what it holds (DrawerShort).
- A closed ticket takes no new expenses and loses none (its commission was computed from
  them): reopen it first.
- Deleting is for owners and managers, and only while the expense's shift is open: a closed
  shift's Z-report counted it, and history that a Z-report counted is not rewritten
  (ExpenseLocked, reason shift_closed). Record a correction instead (e.g. a service cash-in).
  The deleted row's data stays in the audit log.
- The PRRO's cash equals the drawer: with `fiscal=True` a cash expense is also a PRRO service
  receipt (cash out, − amount), and deleting such an expense one more (cash in, + amount).
  Those documents are `cash_moves` rows with `expense_id` set, queued like any cash move; the
  drawer and the reports count the expense, never these rows (db.money.drawer).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import signals
from db.access import require_active, require_manager
from db.audit import audit
from db.base import rowcount, utcnow
from db.desk.models import Staff
from db.desk.tickets import lock_open_ticket, lock_ticket
from db.errors import NotFound, required_line
from db.money.amounts import check_amount
from db.money.errors import ExpenseLocked
from db.money.models import CashMove, Expense, FiscalState, PaymentKind, Shift, ShiftStatus
from db.money.payment_types import get_payment_type
from db.money.shifts import shift_for_money

DESCRIPTION_MAX = 500


async def add_expense(
    session: AsyncSession, actor: Staff, ticket_id: int | None, what: str, amount: int,
    payment_type_id: int, now: datetime | None = None, *, fiscal: bool = False,
) -> Expense:
    require_active(actor)
    now = now or utcnow()
    description = required_line(what, "description", DESCRIPTION_MAX)
    check_amount(amount)
    if ticket_id is not None:
        await lock_open_ticket(session, ticket_id)
    payment_type = await get_payment_type(session, payment_type_id)
    cash_out = amount if payment_type.kind == PaymentKind.CASH else 0
    shift = await shift_for_money(session, actor, now, cash_out=cash_out)
    expense = Expense(ticket_id=ticket_id, description=description, amount=amount,
                      payment_type_id=payment_type.id, kind=payment_type.kind,
                      staff_id=actor.id, created_at=now, shift_id=shift.id)
    session.add(expense)
    await session.flush()
    prro = fiscal and payment_type.kind == PaymentKind.CASH
    if prro:
        _mirror(session, expense, -amount, shift.id, actor, now)
    audit(session, actor, "expense.add", "expense", expense.id, ticket_id=ticket_id,
          amount=amount, kind=payment_type.kind.value, shift_id=shift.id, fiscal=prro)
    return expense


def _mirror(session: AsyncSession, expense: Expense, amount: int, shift_id: int, actor: Staff,
            now: datetime) -> None:
    """The PRRO service receipt for a cash expense (−) or its deletion (+); see the docstring."""
    session.add(CashMove(amount=amount, reason=expense.description, staff_id=actor.id,
                         created_at=now, shift_id=shift_id, expense_id=expense.id,
                         fiscal_id=str(uuid.uuid4()), fiscal_attempts=0,
                         fiscal_state=FiscalState.PENDING, fiscal_updated_at=now))
    signals.mark(session, signals.FISCAL)


async def _in_prro(session: AsyncSession, expense_id: int) -> bool:
    """Whether the expense's cash out went to the PRRO queue (and was not undone yet)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(CashMove.amount), 0))
        .where(CashMove.expense_id == expense_id))
    return int(total or 0) < 0


async def delete_expense(session: AsyncSession, actor: Staff, expense_id: int,
                         now: datetime | None = None) -> None:
    require_manager(actor)
    now = now or utcnow()
    expense = await session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("expense", expense_id=expense_id)
    if expense.ticket_id is not None:
        _ticket, status = await lock_ticket(session, expense.ticket_id)
        if status.kind.is_closed:
            raise ExpenseLocked(expense.id, "ticket_closed")
    # The shift row is the drawer's lock, and closing takes it too.
    shift = await session.scalar(
        select(Shift).where(Shift.id == expense.shift_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if shift is None or shift.status != ShiftStatus.OPEN:
        raise ExpenseLocked(expense.id, "shift_closed")
    deleted = await session.execute(delete(Expense).where(Expense.id == expense.id))
    if rowcount(deleted) != 1:
        raise NotFound("expense", expense_id=expense_id)  # deleted while we waited
    if await _in_prro(session, expense.id):
        _mirror(session, expense, expense.amount, shift.id, actor, now)
    session.expunge(expense)
    audit(session, actor, "expense.delete", "expense", expense_id, ticket_id=expense.ticket_id,
          description=expense.description, amount=expense.amount, kind=expense.kind.value,
          shift_id=expense.shift_id)


async def get_expense(session: AsyncSession, expense_id: int, *, ticket_id: int | None
                      ) -> Expense:
    """The expense of that ticket (None: of the shop); another's reads as not found, since a
    button names both."""
    expense = await session.get(Expense, expense_id)
    if expense is None or expense.ticket_id != ticket_id:
        raise NotFound("expense", expense_id=expense_id)
    return expense


async def ticket_expenses(session: AsyncSession, ticket_id: int) -> list[Expense]:
    return list(await session.scalars(
        select(Expense).where(Expense.ticket_id == ticket_id).order_by(Expense.id)
    ))


def expenses_sum(ticket_id: int | ColumnElement[int]) -> Select[int]:
    """Σ of a ticket's expenses (0 without any), to run or to embed as a scalar subquery (the
    ticket's id, or a parameter for a statement built once)."""
    return select(func.coalesce(func.sum(Expense.amount), 0)).where(Expense.ticket_id == ticket_id)


async def expenses_total(session: AsyncSession, ticket_id: int) -> int:
    return int(await session.scalar(expenses_sum(ticket_id)) or 0)
