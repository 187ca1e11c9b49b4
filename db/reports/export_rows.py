"""The receipts export's rows, read page by page: a year of a chain is ~1,000,000 lines.

Rows are every line of every receipt paid in [lo, hi), oldest first (by paid_at, then receipt
id, then line id); a refund's lines carry a negative quantity and amount, so the amounts add
up to the period's revenue; a receipt's payment types are its payments' type names in payment
order without repeats ("Наличные, Карта").

How it stays fast (and flat in memory) on SQLite and PostgreSQL alike:
- receipts are read in pages with keyset pagination on (paid_at, id), which walks the
  (status, paid_at) index in order and never re-reads skipped rows the way OFFSET would;
- each page is three plain indexed reads: the page's receipts (with their ticket by primary
  key), their lines and their payments by `receipt_id IN (page's ids)` (the ids bound as one
  array / JSON value, see `_among`);
- the few staff and payment-type names are read once into dicts instead of being joined into
  every row;
- nothing is formatted here (dates stay UTC, money stays kopecks): the view does that.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.types import ARRAY

from db.desk.models import Staff, Ticket
from db.money.models import Payment, PaymentType, Receipt, ReceiptKind, ReceiptLine, ReceiptStatus

# Receipts per page: ~10k lines, a few MB of Python objects; SQLite's bound-parameter limit
# (32,766) is far away; few enough round trips (~100 for a chain's year).
PAGE_RECEIPTS = 5000

# (name, code, quantity in thousandths, price in kopecks, amount in kopecks); signed.
LineValues = tuple[str, str, int, int, int]


@dataclass(frozen=True, slots=True)
class ExportSize:
    receipts: int
    lines: int


class ExportReceipt(NamedTuple):
    """One paid receipt with its lines: the columns every line of it shares, once. (A named
    tuple: half a million of them are made for a year, and a tuple is the cheapest record.)"""

    paid_at: datetime  # aware UTC
    receipt_id: int
    kind: ReceiptKind
    related_receipt_id: int | None
    ticket_number: int | None
    master: str
    cashier: str
    payment_types: str  # "Наличные, Карта"
    fiscal_code: str
    total: int  # kopecks, Σ lines' amounts (the receipt's stamped total), negative on a refund
    lines: tuple[LineValues, ...]


@dataclass(frozen=True, slots=True)
class ExportLine:
    """One line as a flat record (small callers and tests; the export itself uses pages)."""

    paid_at: datetime
    receipt_id: int
    kind: ReceiptKind
    related_receipt_id: int | None
    ticket_number: int | None
    master: str
    cashier: str
    name: str
    code: str
    quantity: int  # thousandths, negative on a refund
    price: int  # kopecks per item
    amount: int  # kopecks, negative on a refund
    payment_types: str
    fiscal_code: str


def _paid_in(lo: datetime, hi: datetime) -> ColumnElement[bool]:
    return and_(Receipt.status == ReceiptStatus.PAID, Receipt.paid_at >= lo, Receipt.paid_at < hi)


async def has_receipts(session: AsyncSession, lo: datetime, hi: datetime) -> bool:
    """Whether any receipt was paid in [lo, hi): one index probe (the empty-period answer)."""
    return bool(await session.scalar(select(exists().where(_paid_in(lo, hi)))))


async def export_size(session: AsyncSession, lo: datetime, hi: datetime) -> ExportSize:
    """Receipts and lines the export will have, known before the first page (progress, and
    the choice of file: XLSX has a line limit)."""
    receipts = await session.scalar(select(func.count()).select_from(Receipt)
                                    .where(_paid_in(lo, hi)))
    lines = await session.scalar(select(func.count()).select_from(ReceiptLine)
                                 .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
                                 .where(_paid_in(lo, hi)))
    return ExportSize(int(receipts or 0), int(lines or 0))


class _Names:
    """Staff and payment-type names, read once per export (tens of rows, not a join per line)."""

    def __init__(self, staff: dict[int, str], types: dict[int, str]) -> None:
        self.staff = staff
        self.types = types

    @classmethod
    async def read(cls, session: AsyncSession, lang: str) -> _Names:
        staff = {sid: name for sid, name in await session.execute(select(Staff.id, Staff.name))}
        types = {tid: (uk if lang == "uk" else ru) for tid, ru, uk in await session.execute(
            select(PaymentType.id, PaymentType.name_ru, PaymentType.name_uk))}
        return cls(staff, types)

    def person(self, staff_id: int | None) -> str:
        return self.staff.get(staff_id, "") if staff_id is not None else ""


def _page_query(lo: datetime, hi: datetime, after: tuple[datetime, int] | None,
                limit: int) -> Select[*tuple[Any, ...]]:
    query: Select[*tuple[Any, ...]] = (
        select(Receipt.paid_at, Receipt.id, Receipt.kind, Receipt.related_receipt_id,
               Ticket.number, Ticket.master_id, Receipt.paid_by_id, Receipt.fiscal_code,
               Receipt.total)
        .outerjoin(Ticket, Ticket.id == Receipt.ticket_id)
        .where(_paid_in(lo, hi))
        .order_by(Receipt.paid_at, Receipt.id)
        .limit(limit)
    )
    if after is not None:
        at, receipt_id = after
        # The `>=` alone is what an index range scan can use; the OR settles equal moments.
        query = query.where(Receipt.paid_at >= at,
                            or_(Receipt.paid_at > at, Receipt.id > receipt_id))
    return query


def _among(column: QueryableAttribute[int], ids: Sequence[int], dialect: str
           ) -> ColumnElement[bool]:
    """`column IN (ids)` as ONE bound value: an expanding IN of 5,000 ids costs SQLAlchemy
    ~3 µs per id to render, every page (~3 s for a year). PostgreSQL takes an array; SQLite
    a JSON array it unpacks with json_each (built in since 3.38)."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    values = func.json_each(bindparam(None, json.dumps(list(ids)))).table_valued("value")
    return column.in_(select(values.c.value))


async def _rows_by_ids(conn: AsyncConnection, query: Select[*tuple[Any, ...]],
                       ids: Sequence[int]) -> Sequence[Sequence[Any]]:
    """Rows of a query whose only bound value is the page's ids (`_among`), for the two
    high-volume reads (a year: 1M lines, 600k payments).

    On PostgreSQL they come straight from asyncpg: SQLAlchemy's Row building costs ~2 µs a
    row on top of asyncpg's own decoding (measured: 0.43 s per 200k rows, ~3 s of a year's
    export), and these columns need none of its result processing (ints and texts). Same
    connection, same transaction. Elsewhere: Core's `.all()` (bulk fetch; iterating the
    async result fetches row by row, ~5 µs each)."""
    if conn.dialect.name == "postgresql":
        driver = (await conn.get_raw_connection()).driver_connection
        sql = str(query.compile(dialect=conn.dialect))
        return await driver.fetch(sql, list(ids))  # type: ignore[union-attr]
    return (await conn.execute(query)).all()


async def _lines_of(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, list[LineValues]]:
    lines: dict[int, list[LineValues]] = defaultdict(list)
    for receipt_id, name, code, quantity, price, amount in await _rows_by_ids(conn, (
        select(ReceiptLine.receipt_id, ReceiptLine.name, ReceiptLine.code, ReceiptLine.quantity,
               ReceiptLine.price, ReceiptLine.amount)
        .where(_among(ReceiptLine.receipt_id, ids, conn.dialect.name))
        .order_by(ReceiptLine.id)
    ), ids):
        lines[receipt_id].append((name, code, quantity, price, amount))  # BIGINTs: ints
    return lines


async def _payment_types_of(conn: AsyncConnection, ids: Sequence[int],
                            names: _Names) -> dict[int, str]:
    types: dict[int, list[str]] = defaultdict(list)
    for receipt_id, type_id in await _rows_by_ids(conn, (
        select(Payment.receipt_id, Payment.payment_type_id)
        .where(_among(Payment.receipt_id, ids, conn.dialect.name)).order_by(Payment.id)
    ), ids):
        found = types[receipt_id]
        name = names.types.get(type_id, "")
        if name not in found:
            found.append(name)
    return {receipt_id: ", ".join(found) for receipt_id, found in types.items()}


def _signed(lines: list[LineValues], refund: bool) -> tuple[LineValues, ...]:
    if not refund:
        return tuple(lines)
    return tuple((name, code, -quantity, price, -amount)
                 for name, code, quantity, price, amount in lines)


async def _page(conn: AsyncConnection, rows: Sequence[Any], names: _Names
                ) -> list[ExportReceipt]:
    ids = [row[1] for row in rows]
    lines = await _lines_of(conn, ids)
    types = await _payment_types_of(conn, ids, names)
    page = []
    for paid_at, receipt_id, kind, related, number, master_id, cashier_id, fiscal, total in rows:
        refund = kind == ReceiptKind.REFUND
        page.append(ExportReceipt(
            paid_at=paid_at, receipt_id=receipt_id, kind=kind, related_receipt_id=related,
            ticket_number=number, master=names.person(master_id),
            cashier=names.person(cashier_id), payment_types=types.get(receipt_id, ""),
            fiscal_code=fiscal or "", total=-total if refund else total,
            lines=_signed(lines.get(receipt_id, []), refund)))
    return page


async def export_pages(session: AsyncSession, lo: datetime, hi: datetime, lang: str = "ru",
                       page_size: int | None = None) -> AsyncIterator[list[ExportReceipt]]:
    """Receipts paid in [lo, hi) with their lines, oldest first, `page_size` receipts a page.

    Read them in one transaction (a read-only session: it holds no write lock); a receipt
    paid while the export runs may or may not be in it, none is repeated or skipped."""
    size = page_size or PAGE_RECEIPTS
    names = await _Names.read(session, lang)
    # Core on the session's connection (same transaction): no ORM row machinery per row.
    conn = await session.connection()
    after: tuple[datetime, int] | None = None
    while True:
        rows = (await conn.execute(_page_query(lo, hi, after, size))).all()
        if not rows:
            return
        yield await _page(conn, rows, names)
        if len(rows) < size:
            return
        after = (rows[-1][0], rows[-1][1])


async def receipt_lines(session: AsyncSession, lo: datetime, hi: datetime,
                        lang: str = "ru") -> list[ExportLine]:
    """Every line of every receipt paid in [lo, hi) as flat records, in memory: for small
    periods and tests only (the export streams `export_pages`)."""
    out: list[ExportLine] = []
    async for page in export_pages(session, lo, hi, lang):
        for r in page:
            out.extend(ExportLine(r.paid_at, r.receipt_id, r.kind, r.related_receipt_id,
                                  r.ticket_number, r.master, r.cashier, name, code, quantity,
                                  price, amount, r.payment_types, r.fiscal_code)
                       for name, code, quantity, price, amount in r.lines)
    return out
