"""Owner's reports: day and period totals, the receipts list, receipt lines for export, payroll.

How the numbers are made (right by construction)
- Every total is a SQL aggregate (SUM / COUNT ... GROUP BY) over indexed timestamp ranges;
  Python only adds up the few aggregated rows (one per day × payment type, say), never the
  rows of a table.
- Days are the shop's local days turned into UTC ranges [lo, hi) in Python (see
  db.reports.periods). A report over several days joins a small table of those ranges
  (`WITH buckets(i, lo, hi) AS (SELECT ... UNION ALL ...)`) and groups by it: every measure
  in one UNION ALL statement (db.reports.measures), the same SQL on SQLite and PostgreSQL, DST
  included. A closed day is read from its rollup (db.reports.rollups) instead; any other day
  is a range of its own, so a bucket's figures are always its days' figures added up,
  whichever way each day was read, and the per-day lines add up to the period's total.
- Which moment puts a row into a day:
      payments (revenue by type, change given)    payments.created_at (= the receipt's paid_at)
      receipts (counts, sales, refunds, average)  receipts.paid_at, paid receipts only
      expenses, service cash in/out               created_at
      tickets accepted                            tickets.created_at
      tickets ready                               status_history.created_at, into a status of
                                                  kind `ready` (distinct tickets per day, added
                                                  up over the days of a period)
      tickets closed, per master, payroll         tickets.closed_at (current closing: a ticket
                                                  reopened and not closed again is not counted)
      SMS sent, per message kind                  outbox.sent_at of messages delivered by SMS
- Money rules are the domain's: revenue = paid sales − refunds; the drawer is db.money.drawer's
  aggregate; a master's commission is what db.money.closing stamped on the ticket when it was
  closed as done (`commission`, `commission_base`, `commission_bp`), never recomputed here,
  plus the commission adjustments (a refund or a debt paid after closing) on their own day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Select,
    bindparam,
    exists,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from db.base import utcnow
from db.desk.models import Staff, Status, StatusKind, Ticket
from db.errors import NotFound
from db.money.drawer import drawer_balance
from db.money.models import (
    CommissionAdjustment,
    Payment,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
)
from db.notify.models import MessageKind
from db.reports import rollups
from db.reports.measures import (
    ACCEPTED,
    ADJUST,
    CLOSED,
    EXPENSES,
    PAY,
    READY,
    RECEIPTS,
    SERVICE,
    SMS,
    MeasureRow,
    Range,
    live_rows,
)
from db.reports.periods import (
    Bucket,
    Period,
    day_buckets,
    day_range,
    local_day,
    month_buckets,
    whole_bucket,
)

# Chat shows a line per day up to this many days, a line per month beyond.
DAY_LINES_MAX = 31
# The order SMS counts are listed in (paid messages the policy sends; then any other kind).
SMS_KINDS = (MessageKind.READY, MessageKind.ESTIMATE, MessageKind.REMINDER, MessageKind.STATUS,
             MessageKind.INTAKE)

_Cols = TypeVarTuple("_Cols")


# ---- results -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PaymentTypeTotal:
    payment_type_id: int
    name_ru: str
    name_uk: str
    kind: PaymentKind  # as the payments were made (snapshot on the payment row)
    position: int = 0
    sales: int = 0
    refunds: int = 0

    @property
    def net(self) -> int:
        return self.sales - self.refunds

    def title(self, lang: str) -> str:
        return self.name_uk if lang == "uk" else self.name_ru


@dataclass(frozen=True, slots=True)
class MasterTotal:
    master_id: int | None  # None: tickets closed without a master
    name: str
    tickets: int = 0  # closed as done in the range
    base: int = 0  # Σ commission_base
    commission: int = 0  # Σ commission
    bp_min: int = 0  # the percents the tickets were closed with
    bp_max: int = 0
    adjustment: int = 0  # part of `commission`: adjustments after closings (refunds, debts)


@dataclass(frozen=True, slots=True)
class Totals:
    """What happened in one range. Kopecks; counts are receipts or tickets."""

    sales: int = 0  # paid sale receipts, Σ total
    sales_count: int = 0
    refunds: int = 0  # refund receipts, Σ total
    refunds_count: int = 0
    change_given: int = 0
    payment_types: tuple[PaymentTypeTotal, ...] = ()
    expenses_cash: int = 0
    expenses_cashless: int = 0
    expenses_count: int = 0
    service_in: int = 0
    service_out: int = 0
    service_count: int = 0
    tickets_accepted: int = 0
    tickets_ready: int = 0
    tickets_done: int = 0
    tickets_refused: int = 0
    masters: tuple[MasterTotal, ...] = ()
    # (message kind, SMS sent) in SMS_KINDS order, kinds with none left out
    sms: tuple[tuple[str, int], ...] = ()

    @property
    def sms_total(self) -> int:
        return sum(count for _, count in self.sms)

    def sms_of(self, kind: str) -> int:
        return dict(self.sms).get(kind, 0)

    @property
    def revenue(self) -> int:
        return self.sales - self.refunds

    @property
    def average(self) -> int:
        """Average sale receipt, half up to the kopeck (0 without receipts)."""
        if not self.sales_count:
            return 0
        return (2 * self.sales + self.sales_count) // (2 * self.sales_count)

    @property
    def expenses(self) -> int:
        return self.expenses_cash + self.expenses_cashless

    @property
    def tickets_closed(self) -> int:
        return self.tickets_done + self.tickets_refused

    @property
    def commission(self) -> int:
        return sum(m.commission for m in self.masters)

    @property
    def cash_sales(self) -> int:
        return sum(t.sales for t in self.payment_types if t.kind == PaymentKind.CASH)

    @property
    def cash_refunds(self) -> int:
        return sum(t.refunds for t in self.payment_types if t.kind == PaymentKind.CASH)

    @property
    def drawer_change(self) -> int:
        """How the range moved the drawer (db.money.drawer's formula over the range)."""
        return (self.cash_sales - self.cash_refunds - self.expenses_cash + self.service_in
                - self.service_out)

    @property
    def is_empty(self) -> bool:
        return not (self.sales_count or self.refunds_count or self.expenses_count
                    or self.service_count or self.tickets_accepted or self.tickets_ready
                    or self.tickets_closed or self.sms)


@dataclass(frozen=True, slots=True)
class Line:
    bucket: Bucket
    totals: Totals


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    lo: datetime
    hi: datetime
    total: Totals
    lines: tuple[Line, ...] = ()
    unit: str = ""  # "day", "month" or "" (no lines)
    drawer: int = 0  # the drawer at `drawer_at`
    drawer_at: datetime | None = None
    is_current: bool = False  # the period includes now: `drawer` is the drawer now


# ---- the aggregates --------------------------------------------------------------------

def _int(value: Any) -> int:
    # PostgreSQL's SUM(bigint) is numeric (Decimal).
    return int(value or 0)


def _moment(value: datetime | None) -> datetime:
    """A nullable timestamp column that the query's range filter has made non-null."""
    if value is None:
        raise ValueError("a range-filtered timestamp is NULL")
    return value


def _low(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _high(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


class _People:
    """Per master: [count, base, commission, bp min, bp max], merged across rows."""

    def __init__(self) -> None:
        self.rows: dict[int | None, list[Any]] = {}

    def add(self, master_id: int | None, count: int, base: int, amount: int,
            low: int | None, high: int | None) -> None:
        old = self.rows.get(master_id)
        if old is None:
            self.rows[master_id] = [count, base, amount, low, high]
            return
        old[0] += count
        old[1] += base
        old[2] += amount
        old[3], old[4] = _low(old[3], low), _high(old[4], high)


# Every report names its payment types and masters: built once (expanding IN lists).
_TYPES_BY_ID = select(PaymentType).where(PaymentType.id.in_(bindparam("ids", expanding=True)))
_NAMES_BY_ID = select(Staff.id, Staff.name).where(Staff.id.in_(bindparam("ids", expanding=True)))


class _Sums:
    """Per-bucket accumulators, filled from measure rows (db.reports.measures), computed live
    or read from the rollups, in any number of rows per bucket."""

    def __init__(self) -> None:
        self.numbers: dict[int, dict[str, int]] = defaultdict(dict)
        # bucket → (payment type id, payment kind) → {"sales": …, "refunds": …}
        self.by_type: dict[int, dict[tuple[int, str], dict[str, int]]] = defaultdict(dict)
        self.types: dict[int, PaymentType] = {}
        self.masters: dict[int, _People] = defaultdict(_People)
        self.adjustments: dict[int, _People] = defaultdict(_People)
        self.names: dict[int, str] = {}
        self.sms: dict[int, dict[str, int]] = defaultdict(dict)

    def add(self, i: int, key: str, value: Any) -> None:
        self.numbers[i][key] = self.numbers[i].get(key, 0) + _int(value)

    def apply(self, i: int, row: MeasureRow) -> None:
        _, measure, k_int, k_a, k_b, v1, v2, v3, v4, v5 = row
        if measure == PAY:
            slot = self.by_type[i].setdefault((int(k_int or 0), str(k_a)),
                                              {"sales": 0, "refunds": 0})
            slot["sales" if k_b == ReceiptKind.SALE else "refunds"] += v1
            self.add(i, "change_given", v2)
        elif measure == CLOSED:
            done = k_a == StatusKind.DONE
            self.add(i, "tickets_done" if done else "tickets_refused", v1)
            if done:
                self.masters[i].add(k_int, v1, v2, v3, v4, v5)
        elif measure == ADJUST:
            self.adjustments[i].add(k_int, 0, v2, v3, v4, v5)
        elif measure == SMS:
            self.sms[i][str(k_a)] = self.sms[i].get(str(k_a), 0) + v1
        else:
            self._count(i, measure, k_a, v1, v2, v3)

    def _count(self, i: int, measure: str, k_a: str | None, v1: int, v2: int, v3: int) -> None:
        if measure == RECEIPTS:
            sale = k_a == ReceiptKind.SALE
            self.add(i, "sales" if sale else "refunds", v2)
            self.add(i, "sales_count" if sale else "refunds_count", v1)
        elif measure == EXPENSES:
            self.add(i, "expenses_cash" if k_a == PaymentKind.CASH else "expenses_cashless", v2)
            self.add(i, "expenses_count", v1)
        elif measure == SERVICE:
            self.add(i, "service_count", v1)
            self.add(i, "service_in", v2)
            self.add(i, "service_out", v3)
        elif measure == ACCEPTED:
            self.add(i, "tickets_accepted", v1)
        elif measure == READY:
            self.add(i, "tickets_ready", v1)

    async def load_names(self, session: AsyncSession) -> None:
        type_ids = {type_id for slots in self.by_type.values() for type_id, _ in slots}
        if type_ids:
            self.types = {t.id: t for t in await session.scalars(
                _TYPES_BY_ID, {"ids": sorted(type_ids)})}
        master_ids = {mid for people in (*self.masters.values(), *self.adjustments.values())
                      for mid in people.rows if mid is not None}
        if master_ids:
            self.names = {staff_id: name for staff_id, name in await session.execute(
                _NAMES_BY_ID, {"ids": sorted(master_ids)})}

    def totals(self, i: int) -> Totals:
        lines = [
            PaymentTypeTotal(type_id, self.types[type_id].name_ru, self.types[type_id].name_uk,
                             PaymentKind(kind), self.types[type_id].position, **sums)
            for (type_id, kind), sums in self.by_type.get(i, {}).items()
        ]
        lines.sort(key=lambda t: (t.position, t.payment_type_id, t.kind.value))
        people = self._people(i)
        people.sort(key=lambda m: (-m.commission, -m.tickets, m.master_id is None, m.name))
        return Totals(payment_types=tuple(lines), masters=tuple(people),
                      sms=sms_order(self.sms.get(i, {})), **self.numbers.get(i, {}))

    def _name(self, master_id: int | None) -> str:
        return self.names.get(master_id, "") if master_id is not None else ""

    def _people(self, i: int) -> list[MasterTotal]:
        extra = dict(self.adjustments[i].rows) if i in self.adjustments else {}
        out = []
        closed = self.masters[i].rows if i in self.masters else {}
        for mid, (count, base, amount, low, high) in closed.items():
            m = MasterTotal(mid, self._name(mid), count, base, amount, low or 0, high or 0)
            if mid in extra:
                _, more, adjustment, _lo, _hi = extra.pop(mid)
                m = replace(m, base=m.base + more, commission=m.commission + adjustment,
                            adjustment=adjustment)
            out.append(m)
        for mid, (_, base, amount, low, high) in extra.items():
            out.append(MasterTotal(mid, self._name(mid), 0, base, amount, low or 0, high or 0,
                                   adjustment=amount))
        return out


def sms_order(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    known = [kind.value for kind in SMS_KINDS]
    order = known + sorted(set(counts) - set(known))
    return tuple((kind, counts[kind]) for kind in order if counts.get(kind))


def _days(bucket: Bucket) -> list[date]:
    return [bucket.start + timedelta(days=n) for n in range((bucket.end - bucket.start).days + 1)]


async def totals_by_bucket(session: AsyncSession, buckets: Sequence[Bucket], tz: ZoneInfo,
                           now: datetime | None = None) -> list[Totals]:
    """Totals of every bucket, in the buckets' order: the rolled-up days read in one grouped
    query (db.reports.rollups), every other day from the books, one grouped query per
    measure with a range per day. A bucket's figures are its days' figures added up."""
    if not buckets:
        return []
    acc = _Sums()
    last = rollups.last_closed_day(tz, now or utcnow())
    old = [(b.index, b.lo, b.hi) for b in buckets if b.start <= last]
    rows, built = await rollups.read(session, old, tz)
    for row in rows:
        acc.apply(row[0], row)
    live: list[Range] = []
    owner: list[int] = []
    for bucket in buckets:
        for day in _days(bucket):
            if day.toordinal() not in built:
                live.append((len(live), *day_range(day, tz)))
                owner.append(bucket.index)
    for row in await live_rows(session, live):
        acc.apply(owner[row[0]], row)
    await acc.load_names(session)
    return [acc.totals(bucket.index) for bucket in buckets]


async def totals(session: AsyncSession, period: Period, tz: ZoneInfo) -> Totals:
    return (await totals_by_bucket(session, [whole_bucket(period, tz)], tz))[0]


async def _drawer_for(session: AsyncSession, hi: datetime, now: datetime
                      ) -> tuple[int, datetime, bool]:
    if hi > now:
        return await drawer_balance(session), now, True
    at = hi - timedelta(microseconds=1)
    return await drawer_balance(session, at=at), hi, False


async def period_report(
    session: AsyncSession, period: Period, tz: ZoneInfo, *, unit: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Totals of the period, lines per day (≤ DAY_LINES_MAX days) or per month (`unit`
    forces "day", "month" or "" for none), and the drawer at its end (or now)."""
    now = now or utcnow()
    whole = whole_bucket(period, tz)
    if unit is None:
        unit = "" if period.is_day else ("day" if period.days <= DAY_LINES_MAX else "month")
    total = (await totals_by_bucket(session, [whole], tz, now))[0]
    lines: tuple[Line, ...] = ()
    if unit:
        buckets = day_buckets(period, tz) if unit == "day" else month_buckets(period, tz)
        lines = tuple(Line(bucket, t) for bucket, t in
                      zip(buckets, await totals_by_bucket(session, buckets, tz, now),
                          strict=True))
    drawer, drawer_at, current = await _drawer_for(session, whole.hi, now)
    return Report(period=period, lo=whole.lo, hi=whole.hi, total=total, lines=lines, unit=unit,
                  drawer=drawer, drawer_at=drawer_at, is_current=current and whole.lo <= now)


async def day_report(session: AsyncSession, day: date, tz: ZoneInfo,
                     now: datetime | None = None) -> Report:
    return await period_report(session, Period(day, day), tz, unit="", now=now)


async def daily_series(session: AsyncSession, period: Period, tz: ZoneInfo) -> list[Line]:
    """Per-day totals (for charts), one entry per day, empty days included."""
    buckets = day_buckets(period, tz)
    return [Line(bucket, t) for bucket, t in
            zip(buckets, await totals_by_bucket(session, buckets, tz), strict=True)]


# ---- the receipts list -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReceiptFilter:
    payment_type_id: int = 0  # 0: any
    master_id: int = 0  # 0: any
    refunds_only: bool = False


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    id: int
    kind: ReceiptKind
    paid_at: datetime
    total: int
    ticket_id: int | None
    ticket_number: int | None
    master_name: str | None
    payment_type_ids: tuple[int, ...] = ()


def _filtered(query: Select[*_Cols], lo: datetime, hi: datetime, flt: ReceiptFilter
              ) -> Select[*_Cols]:
    query = query.where(Receipt.status == ReceiptStatus.PAID, Receipt.paid_at >= lo,
                        Receipt.paid_at < hi)
    if flt.refunds_only:
        query = query.where(Receipt.kind == ReceiptKind.REFUND)
    if flt.payment_type_id:
        query = query.where(exists().where(Payment.receipt_id == Receipt.id,
                                           Payment.payment_type_id == flt.payment_type_id))
    if flt.master_id:
        query = query.where(Receipt.ticket_id.in_(
            select(Ticket.id).where(Ticket.master_id == flt.master_id)))
    return query


async def list_receipts(
    session: AsyncSession, lo: datetime, hi: datetime, flt: ReceiptFilter = ReceiptFilter(), *,
    offset: int = 0, limit: int = 10,
) -> tuple[list[ReceiptRow], int]:
    """Paid receipts (sales and refunds) paid in [lo, hi), newest first, and how many match."""
    count = await session.scalar(_filtered(select(func.count()).select_from(Receipt), lo, hi, flt))
    master = aliased(Staff)
    rows = (await session.execute(
        _filtered(select(Receipt.id, Receipt.kind, Receipt.paid_at, Receipt.total,
                         Receipt.ticket_id, Ticket.number, master.name)
                  .outerjoin(Ticket, Ticket.id == Receipt.ticket_id)
                  .outerjoin(master, master.id == Ticket.master_id), lo, hi, flt)
        .order_by(Receipt.paid_at.desc(), Receipt.id.desc()).offset(offset).limit(limit)
    )).all()
    types: dict[int, list[int]] = defaultdict(list)
    if rows:
        for receipt_id, type_id in await session.execute(
            select(Payment.receipt_id, Payment.payment_type_id)
            .where(Payment.receipt_id.in_([r[0] for r in rows])).order_by(Payment.id)
        ):
            if type_id not in types[receipt_id]:
                types[receipt_id].append(type_id)
    return [ReceiptRow(r[0], ReceiptKind(r[1]), _moment(r[2]), int(r[3]), r[4], r[5], r[6],
                       tuple(types.get(r[0], ()))) for r in rows], int(count or 0)


@dataclass(frozen=True, slots=True)
class ReceiptDetail:
    receipt: Receipt  # lines and payments loaded
    ticket_number: int | None
    master_name: str | None
    cashier_name: str | None
    payment_types: dict[int, PaymentType]
    refunds: tuple[Receipt, ...] = ()  # returns made against this sale
    refunded: int = 0  # Σ of those returns
    refundable: bool = False  # a paid sale with something left to return


async def receipt_detail(session: AsyncSession, receipt_id: int) -> ReceiptDetail:
    receipt = await session.scalar(
        select(Receipt).where(Receipt.id == receipt_id)
        .options(selectinload(Receipt.lines), selectinload(Receipt.payments))
    )
    if receipt is None:
        raise NotFound("receipt", receipt_id=receipt_id)
    ticket_number = master_name = None
    if receipt.ticket_id is not None:
        row = (await session.execute(
            select(Ticket.number, Staff.name).outerjoin(Staff, Staff.id == Ticket.master_id)
            .where(Ticket.id == receipt.ticket_id))).first()
        if row is not None:
            ticket_number, master_name = row
    cashier = await session.get(Staff, receipt.paid_by_id) if receipt.paid_by_id else None
    refunds: list[Receipt] = []
    refundable = False
    if receipt.kind == ReceiptKind.SALE and receipt.status == ReceiptStatus.PAID:
        refunds = list(await session.scalars(
            select(Receipt).where(Receipt.related_receipt_id == receipt.id)
            .order_by(Receipt.id).options(selectinload(Receipt.payments))))
        sold = sum(line.quantity for line in receipt.lines)
        returned = await session.scalar(
            select(func.coalesce(func.sum(ReceiptLine.quantity), 0))
            .where(ReceiptLine.refund_of_line_id.in_([line.id for line in receipt.lines])))
        refundable = sold > _int(returned)
    type_ids = {p.payment_type_id for p in receipt.payments}
    type_ids |= {p.payment_type_id for r in refunds for p in r.payments}
    types = {t.id: t for t in await session.scalars(
        select(PaymentType).where(PaymentType.id.in_(type_ids)))} if type_ids else {}
    return ReceiptDetail(receipt=receipt, ticket_number=ticket_number, master_name=master_name,
                         cashier_name=cashier.name if cashier else None, payment_types=types,
                         refunds=tuple(refunds), refunded=sum(r.total for r in refunds),
                         refundable=refundable)


# ---- payroll -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PayrollTicket:
    master_id: int | None
    master_name: str
    ticket_number: int
    closed_at: datetime
    base: int
    bp: int
    commission: int
    adjustment: bool = False  # a commission adjustment (closed_at = when it was made)


@dataclass(frozen=True, slots=True)
class Payroll:
    period: Period
    masters: tuple[MasterTotal, ...]
    tickets: tuple[PayrollTicket, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(m.commission for m in self.masters)

    @property
    def base(self) -> int:
        return sum(m.base for m in self.masters)


async def payroll(session: AsyncSession, period: Period, tz: ZoneInfo, *,
                  with_tickets: bool = False) -> Payroll:
    """Per master: tickets closed as done in the period, Σ base, percents, Σ commission
    (the amounts stamped at closing). Masters are the same aggregate /today shows."""
    whole = whole_bucket(period, tz)
    masters = (await totals_by_bucket(session, [whole], tz))[0].masters
    tickets: list[PayrollTicket] = []
    if with_tickets:
        rows = await session.execute(
            select(Ticket.master_id, Staff.name, Ticket.number, Ticket.closed_at,
                   Ticket.commission_base, Ticket.commission_bp, Ticket.commission)
            .join(Status, Status.id == Ticket.status_id)
            .outerjoin(Staff, Staff.id == Ticket.master_id)
            .where(Status.kind == StatusKind.DONE, Ticket.closed_at >= whole.lo,
                   Ticket.closed_at < whole.hi)
            .order_by(Staff.name.asc().nulls_last(), Ticket.closed_at, Ticket.number)
        )
        tickets = [PayrollTicket(mid, name or "", int(number), _moment(closed_at), _int(base),
                                 _int(bp), _int(commission))
                   for mid, name, number, closed_at, base, bp, commission in rows]
        tickets += await _adjustment_rows(session, whole)
    return Payroll(period=period, masters=masters, tickets=tuple(tickets))


async def _adjustment_rows(session: AsyncSession, whole: Bucket) -> list[PayrollTicket]:
    rows = await session.execute(
        select(CommissionAdjustment.master_id, Staff.name, Ticket.number,
               CommissionAdjustment.created_at, CommissionAdjustment.base_delta,
               CommissionAdjustment.bp, CommissionAdjustment.amount)
        .join(Ticket, Ticket.id == CommissionAdjustment.ticket_id)
        .outerjoin(Staff, Staff.id == CommissionAdjustment.master_id)
        .where(CommissionAdjustment.created_at >= whole.lo,
               CommissionAdjustment.created_at < whole.hi)
        .order_by(CommissionAdjustment.created_at, CommissionAdjustment.id)
    )
    return [PayrollTicket(mid, name or "", int(number), at, _int(base), _int(bp), _int(amount),
                          adjustment=True)
            for mid, name, number, at, base, bp, amount in rows]


# ---- helpers for callers -------------------------------------------------------------------

def merge(parts: Iterable[Totals]) -> Totals:
    """Add up totals of disjoint ranges (tests check that day lines add up to the period).
    Every measure adds up, `tickets_ready` too (tickets per day, added over the days)."""
    out = Totals()
    types: dict[tuple[int, str], PaymentTypeTotal] = {}
    people: dict[int | None, MasterTotal] = {}
    sms: dict[str, int] = defaultdict(int)
    numeric = ("sales", "sales_count", "refunds", "refunds_count", "change_given",
               "expenses_cash", "expenses_cashless", "expenses_count", "service_in",
               "service_out", "service_count", "tickets_accepted", "tickets_ready",
               "tickets_done", "tickets_refused")
    for part in parts:
        out = replace(out, **{k: getattr(out, k) + getattr(part, k) for k in numeric})
        for kind, count in part.sms:
            sms[kind] += count
        for t in part.payment_types:
            key = (t.payment_type_id, t.kind.value)
            old = types.get(key)
            types[key] = t if old is None else replace(
                old, sales=old.sales + t.sales, refunds=old.refunds + t.refunds)
        for m in part.masters:
            old_m = people.get(m.master_id)
            people[m.master_id] = m if old_m is None else replace(
                old_m, tickets=old_m.tickets + m.tickets, base=old_m.base + m.base,
                commission=old_m.commission + m.commission, bp_min=min(old_m.bp_min, m.bp_min),
                adjustment=old_m.adjustment + m.adjustment,
                bp_max=max(old_m.bp_max, m.bp_max))
    return replace(
        out,
        payment_types=tuple(sorted(types.values(),
                                   key=lambda t: (t.position, t.payment_type_id, t.kind.value))),
        masters=tuple(sorted(people.values(), key=lambda m: (-m.commission, -m.tickets,
                                                             m.master_id is None, m.name))),
        sms=sms_order(sms),
    )


def today_in(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The shop's local date now."""
    return local_day(now or utcnow(), tz)
