"""The report's measures as grouped SQL over time ranges, every one in the same row shape.

A measure row is `(i, measure, k_int, k_a, k_b, v1, v2, v3, v4, v5)`: the range's index, the
measure's name, up to three group keys and five values. v1–v3 add up across ranges, v4 is a
minimum and v5 a maximum (the commission percents). One shape for every measure lets the
same rows be computed live from the books (`live_rows`) or read back from the per-day
rollups (db.reports.rollups), which store exactly these rows for each closed local day and
add them up per bucket in SQL.

    measure   keys (k_int; k_a; k_b)                       values (v1, v2, v3; v4 / v5)
    pay       payment type id; payment kind; receipt kind   amount, change
    receipts  -; receipt kind; -                            count, Σ total
    expenses  -; payment kind; -                            count, Σ amount
    service   -                                             count, cash in, cash out
    accepted  -                                             count
    ready     -                                             tickets that became ready
                                                            (distinct within the range)
    closed    master id; status kind; -                     count, Σ base, Σ commission;
                                                            bp min / max
    adjust    master id; -; -                               0, Σ base delta, Σ amount;
                                                            bp min / max
    sms       -; message kind; -                            count

Which moment puts a row into a range is listed in db.reports.queries' docstring.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import UTCDateTime
from db.desk.models import Status, StatusChange, StatusKind, Ticket
from db.money.drawer import DRAWER_MOVES
from db.money.models import CashMove, CommissionAdjustment, Expense, Payment, Receipt, ReceiptStatus
from db.notify.models import Channel, OutboxMessage, OutboxState

PAY = "pay"
RECEIPTS = "receipts"
EXPENSES = "expenses"
SERVICE = "service"
ACCEPTED = "accepted"
READY = "ready"
CLOSED = "closed"
ADJUST = "adjust"
SMS = "sms"

# (i, measure, k_int, k_a, k_b, v1, v2, v3, v4, v5)
MeasureRow = tuple[int, str, int | None, str | None, str | None, int, int, int, int | None,
                   int | None]
Range = tuple[int, datetime, datetime]  # (index, lo, hi): [lo, hi) in UTC


@dataclass(frozen=True, slots=True)
class Ranges:
    """The ranges as a `WITH buckets(i, lo, hi)` table, and their span (values,
    or bound parameters in a statement made once and reused, see `_live_statement`)."""

    cte: CTE
    lo: datetime | BindParameter[datetime]
    hi: datetime | BindParameter[datetime]
    span: bool = False  # filter by [lo, hi) as parameters as well (see _in)

    @property
    def c(self) -> Any:
        return self.cte.c


def _buckets(rows: Sequence[tuple[Any, Any, Any]]) -> CTE:
    """`WITH buckets(i, lo, hi) AS (SELECT … UNION ALL SELECT …)`, from values or bound
    parameters. Not VALUES: SQLAlchemy has no cache key for a VALUES construct, so every
    statement holding one was compiled anew on each run (~1 ms for the measures)."""
    when = UTCDateTime()
    selects = [select(type_coerce(i, Integer).label("i"), type_coerce(lo, when).label("lo"),
                      type_coerce(hi, when).label("hi")) for i, lo, hi in rows]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).cte("buckets")


def ranges_cte(ranges: Sequence[Range], *, span: bool = False) -> Ranges:
    table = _buckets([(literal(i, Integer), literal(lo, UTCDateTime()),
                       literal(hi, UTCDateTime())) for i, lo, hi in ranges])
    return Ranges(table, min(r[1] for r in ranges), max(r[2] for r in ranges), span)


def _in(b: Ranges, moment: Any) -> Any:
    within = and_(moment >= b.c.lo, moment < b.c.hi)
    # PostgreSQL cannot estimate a range taken from the buckets table and planned a day's
    # payments as 11 % of the table (a hash join over every receipt, 74 ms); given the span as
    # parameters it plans an index scan (0.6 ms). SQLite plans the UNION ALL worse with them
    # (15 → 107 ms for a day), so there they are left out.
    return and_(within, moment >= b.lo, moment < b.hi) if b.span else within


def _shape(b: Ranges, measure: str, keys: Sequence[Any], sums: Sequence[Any],
           extremes: Sequence[Any] = ()) -> Select[Any]:
    """SELECT i, measure, k_int, k_a, k_b, v1, v2, v3, v4, v5 — keys and sums padded."""
    k_int, k_a, k_b = keys
    padded = [*sums, *([literal(0)] * (3 - len(sums)))]
    low, high = extremes or (None, None)
    labelled = [
        _or_null(k_int, Integer).label("k_int"), _or_null(k_a, String).label("k_a"),
        _or_null(k_b, String).label("k_b"),
        *(value.label(f"v{n}") for n, value in enumerate(padded, 1)),
        _or_null(low, Integer).label("v4"), _or_null(high, Integer).label("v5"),
    ]
    return select(b.c.i, literal(measure).label("measure"), *labelled).select_from(b.cte)


def _or_null(value: Any, kind: type[Integer] | type[String]) -> Any:
    # type_coerce: an enum column's result is read as a plain string, so the measures'
    # different enums can share a column of the UNION ALL (no CAST in the SQL)
    return null().cast(kind) if value is None else type_coerce(value, kind)


def _pay(b: Ranges) -> Select[Any]:
    return (_shape(b, PAY, (Payment.payment_type_id, Payment.kind, Receipt.kind),
                   (func.sum(Payment.amount), func.sum(Payment.change)))
            .join(Payment, _in(b, Payment.created_at))
            .join(Receipt, Receipt.id == Payment.receipt_id)
            .group_by(b.c.i, Payment.payment_type_id, Payment.kind, Receipt.kind))


def _receipts(b: Ranges) -> Select[Any]:
    return (_shape(b, RECEIPTS, (None, Receipt.kind, None), (func.count(), func.sum(Receipt.total)))
            .join(Receipt, _in(b, Receipt.paid_at))
            .where(Receipt.status == ReceiptStatus.PAID)
            .group_by(b.c.i, Receipt.kind))


def _expenses(b: Ranges) -> Select[Any]:
    return (_shape(b, EXPENSES, (None, Expense.kind, None),
                   (func.count(), func.sum(Expense.amount)))
            .join(Expense, _in(b, Expense.created_at))
            .group_by(b.c.i, Expense.kind))


def _service(b: Ranges) -> Select[Any]:
    return (_shape(b, SERVICE, (None, None, None),
                   (func.count(), func.sum(case((CashMove.amount > 0, CashMove.amount), else_=0)),
                    func.sum(case((CashMove.amount < 0, -CashMove.amount), else_=0))))
            .join(CashMove, _in(b, CashMove.created_at))
            .where(DRAWER_MOVES)
            .group_by(b.c.i))


def _accepted(b: Ranges) -> Select[Any]:
    return (_shape(b, ACCEPTED, (None, None, None), (func.count(),))
            .join(Ticket, _in(b, Ticket.created_at))
            .group_by(b.c.i))


def _ready(b: Ranges) -> Select[Any]:
    # IN (subquery), not a join: SQLite's planner would otherwise start from the statuses and
    # scan the history once per day
    ready = select(Status.id).where(Status.kind == StatusKind.READY)
    return (_shape(b, READY, (None, None, None), (func.count(distinct(StatusChange.ticket_id)),))
            .join(StatusChange, _in(b, StatusChange.created_at))
            .where(StatusChange.to_status_id.in_(ready))
            .group_by(b.c.i))


def _closed(b: Ranges) -> Select[Any]:
    return (_shape(b, CLOSED, (Ticket.master_id, Status.kind, None),
                   (func.count(), func.sum(Ticket.commission_base), func.sum(Ticket.commission)),
                   (func.min(Ticket.commission_bp), func.max(Ticket.commission_bp)))
            .join(Ticket, _in(b, Ticket.closed_at))
            .join(Status, Status.id == Ticket.status_id)
            .where(Status.kind.in_((StatusKind.DONE, StatusKind.REFUSED)))
            .group_by(b.c.i, Status.kind, Ticket.master_id))


def _adjust(b: Ranges) -> Select[Any]:
    adj = CommissionAdjustment
    return (_shape(b, ADJUST, (adj.master_id, None, None),
                   (literal(0), func.sum(adj.base_delta), func.sum(adj.amount)),
                   (func.min(adj.bp), func.max(adj.bp)))
            .join(adj, _in(b, adj.created_at))
            .group_by(b.c.i, adj.master_id))


def _sms(b: Ranges) -> Select[Any]:
    return (_shape(b, SMS, (None, OutboxMessage.kind, None), (func.count(),))
            .join(OutboxMessage, _in(b, OutboxMessage.sent_at))
            .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.channel == Channel.SMS)
            .group_by(b.c.i, OutboxMessage.kind))


MEASURES = (_pay, _receipts, _expenses, _service, _accepted, _ready, _closed, _adjust, _sms)


def measure_row(raw: Sequence[Any]) -> MeasureRow:
    i, measure, k_int, k_a, k_b, v1, v2, v3, v4, v5 = raw
    # PostgreSQL's SUM(bigint) is numeric (Decimal); enums come back as their members
    return (int(i), str(measure), None if k_int is None else int(k_int),
            None if k_a is None else str(k_a), None if k_b is None else str(k_b),
            int(v1 or 0), int(v2 or 0), int(v3 or 0),
            None if v4 is None else int(v4), None if v5 is None else int(v5))


@functools.lru_cache(maxsize=16)
def _live_statement(count: int, span: bool) -> CompoundSelect[Any]:
    """The UNION ALL of every measure over `count` ranges given as parameters (i0, lo0, hi0,
    i1, …, span_lo, span_hi). Made once per shape: building the nine grouped selects costs
    more than running them for a day (about half of /today's CPU went to building them)."""
    when = UTCDateTime()
    table = _buckets([(bindparam(f"i{n}", type_=Integer), bindparam(f"lo{n}", type_=when),
                       bindparam(f"hi{n}", type_=when)) for n in range(count)])
    b = Ranges(table, bindparam("span_lo", type_=when), bindparam("span_hi", type_=when), span)
    return union_all(*(measure(b) for measure in MEASURES))


def _live_params(ranges: Sequence[Range]) -> dict[str, Any]:
    params: dict[str, Any] = {"span_lo": min(r[1] for r in ranges),
                              "span_hi": max(r[2] for r in ranges)}
    for n, (i, lo, hi) in enumerate(ranges):
        params.update({f"i{n}": i, f"lo{n}": lo, f"hi{n}": hi})
    return params


async def live_rows(session: AsyncSession, ranges: Sequence[Range]) -> list[MeasureRow]:
    """Every measure of every range, from the books: the grouped queries of all measures as
    one UNION ALL statement (one round trip; the shared row shape makes that possible)."""
    if not ranges:
        return []
    statement = _live_statement(len(ranges), session.get_bind().dialect.name == "postgresql")
    return [measure_row(raw) for raw in await session.execute(statement,
                                                              _live_params(ranges))]
