"""Cash shifts: one open at a time, opened by hand or by the first money of the day, closed
with a Z-report (by staff or by the scheduler), never older than 24 hours while taking money.

Rules
- One open shift: a partial unique index (status = 'open') on SQLite and PostgreSQL; openers
  also serialize on the "shift" counter row, so a race ends with one shift, not an error.
- Every money row (payment, refund, expense, service cash move) records the open shift. It is
  written while holding that shift's row lock (`shift_for_money`), which the Z-report also
  takes: a payment can never slip into a shift after its Z-report was counted, and drawer
  checks under the lock see every committed cash movement. While no shift is open the
  counter row is that lock. Lock order everywhere: ticket → receipt → counter → shift.
- Checks come before writes: a refused operation (stale shift, drawer short) opens no shift.
- Stale: a shift open for 24 hours or more (`now - opened_at >= 24 h`; PRRO shifts must
  close within 24 h) refuses all money with ShiftTooOld until it is closed. It is not closed
  automatically here: the Z-report is a deliberate act (staff or the scheduler job).
- The Z-report is computed with SQL aggregates and stored on the shift as JSON. Owners and
  managers open and close shifts by hand and take X-reports; the scheduler closes with no
  actor; any active staff member sees the open shift's totals (`shift_totals`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_active, require_manager
from db.audit import audit
from db.base import utcnow
from db.desk.models import Counter, Staff
from db.desk.tickets import next_number
from db.errors import NotFound
from db.money.drawer import drawer_balance, drawer_totals, ensure_cash
from db.money.errors import NoOpenShift, ShiftAlreadyOpen, ShiftTooOld
from db.money.models import (
    Expense,
    Payment,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptStatus,
    Shift,
    ShiftStatus,
)
from db.money.visibility import require_cash_view

STALE_AFTER = timedelta(hours=24)
COUNTER = "shift"


def shift_is_stale(shift: Shift, now: datetime | None = None) -> bool:
    """An open shift 24 h old or older may take no more money."""
    now = now or utcnow()
    return shift.status == ShiftStatus.OPEN and now - shift.opened_at >= STALE_AFTER


async def current_shift(session: AsyncSession) -> Shift | None:
    return await session.scalar(select(Shift).where(Shift.status == ShiftStatus.OPEN))


async def get_shift(session: AsyncSession, shift_id: int) -> Shift:
    shift = await session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("shift", shift_id=shift_id)
    return shift


_LOCK_OPEN_SHIFT = (select(Shift).where(Shift.status == ShiftStatus.OPEN).with_for_update()
                    .execution_options(populate_existing=True))  # built once: every payment


async def _lock_open_shift(session: AsyncSession) -> Shift | None:
    return await session.scalar(_LOCK_OPEN_SHIFT)


async def _lock_drawer(session: AsyncSession) -> Shift | None:
    """The open shift locked; with none open, the shift counter row locked (openers queue
    there, and it is the drawer's lock) and the open shift looked for again after the wait,
    so whoever waited finds the winner's shift, not the unique index."""
    shift = await _lock_open_shift(session)
    if shift is None:
        await session.execute(select(Counter).where(Counter.name == COUNTER).with_for_update())
        shift = await _lock_open_shift(session)
    return shift


async def _create(session: AsyncSession, actor: Staff | None, now: datetime, *, auto: bool
                  ) -> Shift:
    """Insert the open shift; the caller holds the counter lock and saw none open."""
    shift = Shift(number=await next_number(session, COUNTER), status=ShiftStatus.OPEN,
                  opened_at=now, opened_by_id=actor.id if actor else None,
                  drawer_at_open=await drawer_balance(session))
    session.add(shift)
    await session.flush()
    audit(session, actor, "shift.open", "shift", shift.id, number=shift.number, auto=auto,
          drawer=shift.drawer_at_open)
    return shift


async def open_shift(session: AsyncSession, actor: Staff, now: datetime | None = None) -> Shift:
    """Open a shift by hand (owner or manager); refused while one is open."""
    require_manager(actor)
    existing = await _lock_drawer(session)
    if existing is not None:
        raise ShiftAlreadyOpen(existing.id, existing.number)
    return await _create(session, actor, now or utcnow(), auto=False)


async def shift_for_money(
    session: AsyncSession, actor: Staff, now: datetime | None = None, *, cash_out: int = 0,
) -> Shift:
    """The open shift, locked for this transaction, opened now if there is none.

    Raises ShiftTooOld when the open shift is 24 h old: money waits for its Z-report.
    `cash_out` (kopecks leaving the drawer) is checked against the drawer under the lock
    and before anything is written, so a refusal leaves no auto-opened shift behind.
    """
    require_active(actor)
    now = now or utcnow()
    shift = await _lock_drawer(session)
    if shift is not None and shift_is_stale(shift, now):
        raise ShiftTooOld(shift.id, shift.number, shift.opened_at)
    if cash_out > 0:
        await ensure_cash(session, cash_out)
    return shift or await _create(session, actor, now, auto=True)


@dataclass(frozen=True, slots=True)
class PaymentTypeTotals:
    payment_type_id: int
    name_ru: str
    name_uk: str
    kind: str  # cash | cashless, as the payments were made
    sales: int = 0
    refunds: int = 0

    @property
    def net(self) -> int:
        return self.sales - self.refunds


@dataclass(frozen=True, slots=True)
class ShiftReport:
    """X-report (open shift, any time) or Z-report (at closing). Kopecks."""

    shift_id: int
    number: int
    is_z: bool
    opened_at: datetime
    closed_at: datetime | None
    payment_types: list[PaymentTypeTotals] = field(default_factory=list)
    receipts_count: int = 0  # paid sale receipts
    refunds_count: int = 0
    sales_total: int = 0
    refunds_total: int = 0
    cash_sales: int = 0
    cash_refunds: int = 0
    change_given: int = 0
    expenses_cash: int = 0
    expenses_cashless: int = 0
    service_in: int = 0
    service_out: int = 0
    drawer_at_open: int = 0
    drawer: int = 0  # the drawer now (X) or at closing (Z), by the all-time aggregate

    @property
    def expected_drawer(self) -> int:
        """What the drawer must hold by this shift's own movements; equals `drawer`."""
        return (self.drawer_at_open + self.cash_sales - self.cash_refunds - self.expenses_cash
                + self.service_in - self.service_out)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["opened_at"] = self.opened_at.isoformat()
        data["closed_at"] = self.closed_at.isoformat() if self.closed_at else None
        return data


async def _report(session: AsyncSession, shift: Shift, *, is_z: bool,
                  closed_at: datetime | None) -> ShiftReport:
    by_type = await session.execute(
        select(Payment.payment_type_id, Payment.kind, Receipt.kind, func.sum(Payment.amount))
        .join(Receipt, Receipt.id == Payment.receipt_id)
        .where(Payment.shift_id == shift.id)
        .group_by(Payment.payment_type_id, Payment.kind, Receipt.kind)
    )
    sums: dict[tuple[int, str], dict[str, int]] = {}
    for type_id, pay_kind, receipt_kind, total in by_type:
        slot = sums.setdefault((type_id, PaymentKind(pay_kind).value), {"sales": 0, "refunds": 0})
        slot["sales" if receipt_kind == ReceiptKind.SALE else "refunds"] += int(total)
    types = {t.id: t for t in await session.scalars(
        select(PaymentType).where(PaymentType.id.in_({k[0] for k in sums}))
    )}
    lines = [
        PaymentTypeTotals(type_id, types[type_id].name_ru, types[type_id].name_uk, kind, **s)
        for (type_id, kind), s in sorted(
            sums.items(), key=lambda i: (types[i[0][0]].position, i[0][0], i[0][1])
        )
    ]
    counts = dict((await session.execute(
        select(Receipt.kind, func.count()).where(
            Receipt.shift_id == shift.id, Receipt.status == ReceiptStatus.PAID
        ).group_by(Receipt.kind)
    )).all())
    change_given, expenses_cashless = (await session.execute(select(
        select(func.coalesce(func.sum(Payment.change), 0))
        .where(Payment.shift_id == shift.id).scalar_subquery(),
        select(func.coalesce(func.sum(Expense.amount), 0)).where(
            Expense.shift_id == shift.id, Expense.kind == PaymentKind.CASHLESS
        ).scalar_subquery(),
    ))).one()
    cash = await drawer_totals(session, shift_id=shift.id)
    if shift.status == ShiftStatus.CLOSED and shift.drawer_at_close is not None:
        drawer = shift.drawer_at_close
    else:
        drawer = await drawer_balance(session)
    return ShiftReport(
        shift_id=shift.id, number=shift.number, is_z=is_z, opened_at=shift.opened_at,
        closed_at=closed_at, payment_types=lines,
        receipts_count=int(counts.get(ReceiptKind.SALE, 0)),
        refunds_count=int(counts.get(ReceiptKind.REFUND, 0)),
        sales_total=sum(t.sales for t in lines), refunds_total=sum(t.refunds for t in lines),
        cash_sales=cash.cash_sales, cash_refunds=cash.cash_refunds,
        change_given=int(change_given), expenses_cash=cash.cash_expenses,
        expenses_cashless=int(expenses_cashless), service_in=cash.service_in,
        service_out=cash.service_out, drawer_at_open=shift.drawer_at_open, drawer=drawer,
    )


async def x_report(session: AsyncSession, actor: Staff, shift_id: int | None = None
                   ) -> ShiftReport:
    """The X-report of a shift (default: the open one) as it stands; changes nothing. Owners
    and managers take it, like the Z-report."""
    require_manager(actor)
    return await _report_as_is(session, shift_id)


async def shift_totals(session: AsyncSession, actor: Staff, shift_id: int | None = None
                       ) -> ShiftReport:
    """The same figures for the /shift screen, which owners and managers see, and masters
    unless the owner hid the cash from them (db.money.visibility); no X-report for masters."""
    await require_cash_view(session, actor)
    return await _report_as_is(session, shift_id)


async def _report_as_is(session: AsyncSession, shift_id: int | None) -> ShiftReport:
    if shift_id is None:
        shift = await current_shift(session)
        if shift is None:
            raise NoOpenShift("no open shift")
    else:
        shift = await get_shift(session, shift_id)
    return await _report(session, shift, is_z=False, closed_at=shift.closed_at)


async def close_shift(
    session: AsyncSession, actor: Staff | None, now: datetime | None = None
) -> ShiftReport:
    """Close the open shift with its Z-report. `actor=None` is the scheduler's auto-close;
    staff must be owner or manager."""
    if actor is not None:
        require_manager(actor)
    now = now or utcnow()
    shift = await _lock_open_shift(session)
    if shift is None:
        raise NoOpenShift("no open shift")
    report = await _report(session, shift, is_z=True, closed_at=now)
    shift.status = ShiftStatus.CLOSED
    shift.closed_at = now
    shift.closed_by_id = actor.id if actor else None
    shift.drawer_at_close = report.drawer
    shift.z_report = report.to_json()
    await session.flush()
    audit(session, actor, "shift.close", "shift", shift.id, number=shift.number,
          drawer=report.drawer, sales=report.sales_total, refunds=report.refunds_total,
          scheduler=actor is None)
    return report


async def list_shifts(
    session: AsyncSession, *, offset: int = 0, limit: int = 20
) -> list[Shift]:
    return list(await session.scalars(
        select(Shift).order_by(Shift.number.desc()).offset(offset).limit(limit)
    ))
