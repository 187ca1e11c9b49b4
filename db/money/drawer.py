"""The cash drawer, read with SQL aggregates.

balance = cash taken on sales − cash given back on refunds − cash expenses
          + service cash in − service cash out

The balance is read from the last checkpoint: each Z-report stores the drawer at closing on
its shift (`drawer_at_close` = every cash row of that shift and the shifts before it), so
the balance now is that figure plus the rows of the shifts after it (the open one): a day's
rows, not the shop's whole history. Migration 0006 recomputed the stored figures from all
rows once, so the checkpoints hold exactly what the all-time sum gave.

The balance at a past moment reads the shifts between the checkpoint and the last shift
opened by then, not every later shift: a row is written into the shift open when it is made
(or the one opened for it, at that moment), so no row made by a moment is in a shift opened
after it. Without that bound a year-old moment read a year of rows (0.3–0.5 s on a chain).

Cash taken is the part's `amount` (what stays with the shop), not what was handed over:
the change went straight back. Every row counted here belongs to a shift, and all of them are
written under the drawer's lock taken by db.money.shifts.shift_for_money (the open shift's row, or
the shift counter's row while none is open), so a check like `ensure_cash` made under that
lock cannot be raced by another writer.

Cash moves with `expense_id` are the PRRO's copies of cash expenses (db.money.expenses): the
expense is counted, the copy never (`DRAWER_MOVES`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    bindparam,
    case,
    func,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import UTCDateTime
from db.desk.models import Staff, Ticket
from db.money.errors import DrawerShort
from db.money.models import (
    CashMove,
    Expense,
    Payment,
    PaymentKind,
    Receipt,
    ReceiptKind,
    Shift,
    ShiftStatus,
)

DRAWER_MOVES = CashMove.expense_id.is_(None)


@dataclass(frozen=True, slots=True)
class DrawerTotals:
    cash_sales: int = 0
    cash_refunds: int = 0
    cash_expenses: int = 0
    service_in: int = 0
    service_out: int = 0

    @property
    def balance(self) -> int:
        return (self.cash_sales - self.cash_refunds - self.cash_expenses
                + self.service_in - self.service_out)


def _sum(expr: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(expr), 0)


@dataclass(frozen=True, slots=True)
class _Window:
    """Which limits apply (as bound parameters :at, :shift_id, :after_shift, :up_to_shift)."""

    at: bool = False
    shift_id: bool = False
    after_shift: bool = False
    up_to_shift: bool = False

    def apply(self, query: Select[Any], created_at: Any, shift_column: Any) -> Select[Any]:
        if self.at:
            query = query.where(created_at <= bindparam("at", type_=UTCDateTime()))
        if self.shift_id:
            query = query.where(shift_column == bindparam("shift_id", type_=BigInteger))
        if self.after_shift:
            query = query.where(shift_column > bindparam("after_shift", type_=BigInteger))
        if self.up_to_shift:
            query = query.where(shift_column <= bindparam("up_to_shift", type_=BigInteger))
        return query


@functools.lru_cache(maxsize=8)
def _totals_statement(window: _Window) -> Select[Any]:
    """drawer_totals' one query for a window's shape, made once (building its five
    subqueries cost more than running them for a day's rows)."""
    def payments(kind: ReceiptKind) -> Any:
        q = select(_sum(Payment.amount)).join(Receipt, Receipt.id == Payment.receipt_id).where(
            Payment.kind == PaymentKind.CASH, Receipt.kind == kind
        )
        return window.apply(q, Payment.created_at, Payment.shift_id).scalar_subquery()

    expenses = window.apply(
        select(_sum(Expense.amount)).where(Expense.kind == PaymentKind.CASH),
        Expense.created_at, Expense.shift_id,
    ).scalar_subquery()
    moves_in = window.apply(
        select(_sum(case((CashMove.amount > 0, CashMove.amount), else_=0))).where(DRAWER_MOVES),
        CashMove.created_at, CashMove.shift_id,
    ).scalar_subquery()
    moves_out = window.apply(
        select(_sum(case((CashMove.amount < 0, -CashMove.amount), else_=0))).where(DRAWER_MOVES),
        CashMove.created_at, CashMove.shift_id,
    ).scalar_subquery()
    return select(payments(ReceiptKind.SALE), payments(ReceiptKind.REFUND), expenses, moves_in,
                  moves_out)


async def drawer_totals(
    session: AsyncSession, *, at: datetime | None = None, shift_id: int | None = None,
    after_shift: int | None = None, up_to_shift: int | None = None,
) -> DrawerTotals:
    """The drawer's cash flows up to `at` (inclusive), over all time, one shift
    (`shift_id`) or the shifts after one (`after_shift`, by id) up to one (`up_to_shift`);
    one query."""
    given = {"at": at, "shift_id": shift_id, "after_shift": after_shift,
             "up_to_shift": up_to_shift}
    params = {name: value for name, value in given.items() if value is not None}
    window = _Window(**{name: True for name in params})
    row = (await session.execute(_totals_statement(window), params)).one()
    # PostgreSQL's SUM(bigint) is numeric (Decimal): back to int.
    return DrawerTotals(*(int(v) for v in row))


class _Checkpoint(NamedTuple):
    shift_id: int | None  # the last Z-report's shift closed by the moment (None: none yet)
    drawer: int  # the drawer at its closing
    last_opened: int | None  # the last shift opened by the moment (for a past moment)


@functools.cache
def _checkpoint_statement(past: bool) -> Select[Any]:
    """One row: the checkpoint's shift and drawer (NULL without one) and, for a past moment,
    the last shift opened by then."""
    at = bindparam("at", type_=UTCDateTime())
    last = select(Shift.id).where(
        Shift.status == ShiftStatus.CLOSED, Shift.drawer_at_close.is_not(None))
    if past:
        last = last.where(Shift.closed_at <= at)
    last = last.order_by(Shift.id.desc()).limit(1)
    opened = select(func.max(Shift.id)).where(Shift.opened_at <= at)
    return select(last.scalar_subquery(),
                  last.with_only_columns(Shift.drawer_at_close).scalar_subquery(),
                  opened.scalar_subquery() if past else null())


async def _checkpoint(session: AsyncSession, at: datetime | None) -> _Checkpoint:
    """The last Z-report's drawer (closed at or before `at`), and the last shift opened by
    `at`; one query."""
    row = (await session.execute(_checkpoint_statement(at is not None), {"at": at})).one()
    shift_id, drawer, last_opened = row
    return _Checkpoint(None if shift_id is None else int(shift_id), int(drawer or 0),
                       None if last_opened is None else int(last_opened))


async def drawer_balance(session: AsyncSession, at: datetime | None = None) -> int:
    """Cash in the drawer now, or as it was at `at`: the last checkpoint + the rows after it.

    Every cash row belongs to a shift and is written under that shift's lock, which the
    Z-report takes too, so a closed shift's rows are final and all of them were made before
    its closing: the rows after the checkpoint are exactly those of the later shifts — at a
    past moment, of the later shifts opened by then.
    """
    point = await _checkpoint(session, at)
    if at is not None and point.last_opened is None:
        return point.drawer  # no shift was open yet: no cash row either
    totals = await drawer_totals(session, at=at, after_shift=point.shift_id,
                                 up_to_shift=point.last_opened)
    return point.drawer + totals.balance


async def ensure_cash(session: AsyncSession, amount: int) -> int:
    """Refuse to take `amount` out of the drawer if it does not hold that much.

    Call only while holding the drawer's lock (db.money.shifts.shift_for_money does).
    """
    balance = await drawer_balance(session)
    if amount > balance:
        raise DrawerShort(balance, amount)
    return balance


@dataclass(frozen=True, slots=True)
class DrawerMovement:
    at: datetime
    kind: str  # sale, refund, expense, cash_in, cash_out
    amount: int  # signed: + into the drawer, − out of it
    staff_id: int | None
    staff_name: str | None
    note: str = ""
    receipt_id: int | None = None
    expense_id: int | None = None
    cash_move_id: int | None = None
    ticket_id: int | None = None
    ticket_number: int | None = None
    received: int | None = None
    change: int = 0


async def drawer_movements(
    session: AsyncSession, day_start_utc: datetime, day_end_utc: datetime
) -> list[DrawerMovement]:
    """Every cash movement with `day_start_utc <= at < day_end_utc`, oldest first.

    The caller turns the shop's local day into UTC bounds; the opening balance is
    `drawer_balance(session, at=day_start_utc - 1 µs)` if it is wanted.
    """
    payments = await session.execute(
        select(Payment, Receipt.kind, Receipt.ticket_id, Ticket.number, Staff.name)
        .join(Receipt, Receipt.id == Payment.receipt_id)
        .outerjoin(Ticket, Ticket.id == Receipt.ticket_id)
        .outerjoin(Staff, Staff.id == Payment.staff_id)
        .where(Payment.kind == PaymentKind.CASH, Payment.created_at >= day_start_utc,
               Payment.created_at < day_end_utc)
    )
    moves: list[DrawerMovement] = []
    for payment, receipt_kind, ticket_id, ticket_number, staff_name in payments:
        sale = receipt_kind == ReceiptKind.SALE
        moves.append(DrawerMovement(
            at=payment.created_at, kind="sale" if sale else "refund",
            amount=payment.amount if sale else -payment.amount, staff_id=payment.staff_id,
            staff_name=staff_name, receipt_id=payment.receipt_id, ticket_id=ticket_id,
            ticket_number=ticket_number, received=payment.received, change=payment.change,
        ))
    expenses = await session.execute(
        select(Expense, Ticket.number, Staff.name)
        .outerjoin(Ticket, Ticket.id == Expense.ticket_id)
        .outerjoin(Staff, Staff.id == Expense.staff_id)
        .where(Expense.kind == PaymentKind.CASH, Expense.created_at >= day_start_utc,
               Expense.created_at < day_end_utc)
    )
    for expense, ticket_number, staff_name in expenses:
        moves.append(DrawerMovement(
            at=expense.created_at, kind="expense", amount=-expense.amount,
            staff_id=expense.staff_id, staff_name=staff_name, note=expense.description,
            expense_id=expense.id, ticket_id=expense.ticket_id, ticket_number=ticket_number,
        ))
    cash_moves = await session.execute(
        select(CashMove, Staff.name).outerjoin(Staff, Staff.id == CashMove.staff_id)
        .where(CashMove.created_at >= day_start_utc, CashMove.created_at < day_end_utc,
               DRAWER_MOVES)
    )
    for move, staff_name in cash_moves:
        moves.append(DrawerMovement(
            at=move.created_at, kind="cash_in" if move.amount > 0 else "cash_out",
            amount=move.amount, staff_id=move.staff_id, staff_name=staff_name, note=move.reason,
            cash_move_id=move.id,
        ))
    order = {"sale": 0, "refund": 1, "expense": 2, "cash_in": 3, "cash_out": 4}
    moves.sort(key=lambda m: (m.at, order[m.kind], m.receipt_id or m.expense_id or m.cash_move_id))
    return moves
