"""Seed a year of a busy shop and time the owner's reports on SQLite and PostgreSQL.

    .venv/bin/python -m bench.report_bench [--days 365] [--receipts 40] [--db sqlite|postgres|both]
                                           [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
                                           [--explain]

The generator writes rows straight into a migrated database (bulk INSERTs, not the domain
operations: a year through pay_receipt would take minutes and measure the wrong thing), with
the shapes the domain makes: per day `--receipts` paid sales of 1–3 lines paid by cash, card or
both (cash with change), ~3 % refunds, 5 expenses, a service cash move, ~15 tickets accepted
with their status history, closed as done or refused a few days later with the commission
stamped, one shift per day. Times are in Kyiv (UTC+2/+3), some of them at 23:xx local.

Then, each the median of `--repeat` runs in a fresh transaction:
- /today of a busy day (day_report), and of today;
- /report for the whole year as the chat shows it (total + a line per month);
- the year with a line per day (what the XLSX "По дням" sheet gets);
- the receipts list: first page of a day, and of the year filtered by payment type and master;
- the export rows (every receipt line, read page by page) of a month and of the year;
- payroll for a month.
Not a test: the numbers depend on the machine. `--explain` prints PostgreSQL's plan of the
year-by-day payments aggregate.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import string
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Client, Device, Role, Staff, Status, StatusChange, Ticket
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.money.models import (
    CashMove,
    Expense,
    Payment,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
    Shift,
    ShiftStatus,
)
from db.reports.export_rows import export_pages
from db.reports.periods import Period, day_range, period_range
from db.reports.queries import (
    ReceiptFilter,
    day_report,
    list_receipts,
    payroll,
    period_report,
)

TZ = ZoneInfo("Europe/Kyiv")
CHUNK = 2000


def _at(day: date, rnd: random.Random, *, late: bool = False) -> datetime:
    if late and rnd.random() < 0.3:
        local = dtime(23, rnd.randrange(60), rnd.randrange(60))
    else:
        local = dtime(rnd.randrange(9, 20), rnd.randrange(60), rnd.randrange(60),
                      rnd.randrange(1_000_000))
    return datetime.combine(day, local, tzinfo=TZ).astimezone(UTC)


async def _bulk(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[i:i + CHUNK])


@dataclass
class _Year:
    """What the seeder builds up day by day (report_bench's own simple shop)."""

    rnd: random.Random
    status: dict[str, int]
    cash: int
    card: int
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {k: [] for k in ("clients", "devices", "tickets", "history",
                                                 "shifts", "receipts", "lines", "payments",
                                                 "expenses", "moves")})
    open_tickets: list[dict[str, Any]] = field(default_factory=list)
    ticket_id: int = 0
    receipt_id: int = 0
    line_id: int = 0
    payment_id: int = 0

    def accept(self, day: date, n: int) -> None:
        """Tickets accepted today (a new client and device each)."""
        rnd, rows = self.rnd, self.rows
        for _ in range(rnd.randrange(10, 20)):
            self.ticket_id += 1
            tid = self.ticket_id
            phone = f"+38067{tid:07d}"
            rows["clients"].append({"id": tid, "name": "Клиент", "surname": str(tid),
                                    "phone": phone, "phone_rev": phone[::-1][:-1],
                                    "search_name": f"клиент {tid}"})
            rows["devices"].append({"id": tid, "client_id": tid, "kind": "Телефон",
                                    "brand": "Apple", "model": "iPhone"})
            created = _at(day, rnd)
            row = {"id": tid, "number": tid, "device_id": tid,
                   "client_id": tid, "master_id": rnd.choice([None, 2, 3, 4, 5, 6]),
                   "accepted_by_id": 1, "status_id": self.status["accepted"],
                   "defect": "Не включается", "created_at": created, "warranty_days": 30,
                   "public_token": uuid.uuid4().hex, "due": n + rnd.randrange(0, 5)}
            rows["tickets"].append(row)
            self.open_tickets.append(row)
            rows["history"].append({"ticket_id": tid, "to_status_id": self.status["accepted"],
                                    "staff_id": 1, "created_at": created})

    def finish(self, day: date, n: int) -> None:
        """Tickets due today: done (90 %, commission stamped) or refused."""
        due = [t for t in self.open_tickets if t["due"] <= n]
        self.open_tickets = [t for t in self.open_tickets if t["due"] > n]
        for t in due:
            self._finish_one(t, day)

    def _finish_one(self, t: dict[str, Any], day: date) -> None:
        rnd, status, history = self.rnd, self.status, self.rows["history"]
        at = max(_at(day, rnd), t["created_at"] + timedelta(minutes=5))
        ready = at + timedelta(minutes=1)
        done = rnd.random() < 0.9
        history.append({"ticket_id": t["id"], "from_status_id": status["accepted"],
                        "to_status_id": status["in_work"], "staff_id": 1, "created_at": at})
        if done:
            history.append({"ticket_id": t["id"], "from_status_id": status["in_work"],
                            "to_status_id": status["ready"], "staff_id": 1,
                            "created_at": ready})
        finish = ready + timedelta(minutes=30)
        history.append({"ticket_id": t["id"], "to_status_id":
                        status["issued" if done else "refused"], "staff_id": 1,
                        "created_at": finish})
        t["status_id"] = status["issued" if done else "refused"]
        t["closed_at"] = finish
        if done:
            bp = 1000 * t["master_id"] if t["master_id"] else 0
            base = rnd.randrange(20000, 300000)
            t.update(commission_base=base, commission_bp=bp,
                     commission=(base * bp + 5000) // 10000)

    def sales(self, day: date, per_day: int, shift_id: int
              ) -> list[tuple[int, list[dict[str, Any]], int]]:
        """Receipts paid today: 1-3 lines, cash, card or both (cash with change)."""
        day_sales: list[tuple[int, list[dict[str, Any]], int]] = []
        for _ in range(per_day):
            self.receipt_id += 1
            paid = _at(day, self.rnd, late=True)
            items = self._items()
            total = sum(i["amount"] for i in items)
            ticket = self.rnd.choice(self.rows["tickets"][-200:]) if self.rnd.random() < 0.8 \
                else None
            self.rows["receipts"].append({
                "id": self.receipt_id, "kind": ReceiptKind.SALE, "status": ReceiptStatus.PAID,
                "ticket_id": ticket["id"] if ticket else None, "total": total, "change": 0,
                "created_at": paid, "created_by_id": 1, "paid_at": paid, "paid_by_id": 1,
                "shift_id": shift_id})
            self.rows["lines"].extend(items)
            self._pay(total, paid, shift_id)
            day_sales.append((self.receipt_id, items, total))
        return day_sales

    def _items(self) -> list[dict[str, Any]]:
        rnd, items = self.rnd, []
        for _k in range(rnd.randrange(1, 4)):
            self.line_id += 1
            price = rnd.randrange(5000, 250000)
            qty = rnd.choice([1000, 1000, 1000, 2000, 1500])
            items.append({"id": self.line_id, "receipt_id": self.receipt_id, "code": "SRV" +
                          rnd.choice(string.ascii_uppercase), "name": "Работа",
                          "price": price, "quantity": qty,
                          "amount": (price * qty + 500) // 1000})
        return items

    def _pay(self, total: int, paid: datetime, shift_id: int) -> None:
        cash, card = self.cash, self.card
        how = self.rnd.random()
        parts = ([(cash, total)] if how < 0.5 else [(card, total)] if how < 0.85
                 else [(cash, total // 2), (card, total - total // 2)])
        for type_id, amount in parts:
            self.payment_id += 1
            change = self.rnd.choice([0, 0, 500, 2000]) if type_id == cash else 0
            self.rows["payments"].append({
                "id": self.payment_id, "receipt_id": self.receipt_id,
                "payment_type_id": type_id,
                "kind": PaymentKind.CASH if type_id == cash else PaymentKind.CASHLESS,
                "amount": amount, "received": amount + change if type_id == cash else None,
                "change": change, "staff_id": 1, "created_at": paid, "shift_id": shift_id})

    def refunds(self, day: date, day_sales: list[tuple[int, list[dict[str, Any]], int]],
                shift_id: int) -> None:
        """~3 % of today's sales: the first line back, by card."""
        for sale_id, items, _total in day_sales:
            if self.rnd.random() >= 0.03:
                continue
            self.receipt_id += 1
            line = items[0]
            at = _at(day, self.rnd) + timedelta(hours=1)
            self.rows["receipts"].append({
                "id": self.receipt_id, "kind": ReceiptKind.REFUND, "status": ReceiptStatus.PAID,
                "related_receipt_id": sale_id, "total": line["amount"], "change": 0,
                "created_at": at, "created_by_id": 1, "paid_at": at, "paid_by_id": 1,
                "shift_id": shift_id})
            self.line_id += 1
            self.rows["lines"].append({**line, "id": self.line_id, "receipt_id": self.receipt_id,
                                       "refund_of_line_id": line["id"]})
            self.payment_id += 1
            self.rows["payments"].append({
                "id": self.payment_id, "receipt_id": self.receipt_id,
                "payment_type_id": self.card, "kind": PaymentKind.CASHLESS,
                "amount": line["amount"], "change": 0, "staff_id": 1, "created_at": at,
                "shift_id": shift_id})

    def spend(self, day: date, shift_id: int) -> None:
        """5 expenses and a service cash move a day."""
        rnd = self.rnd
        for _ in range(5):
            kind = rnd.choice([PaymentKind.CASH, PaymentKind.CASHLESS])
            self.rows["expenses"].append({
                "description": "Запчасть", "amount": rnd.randrange(1000, 90000),
                "payment_type_id": self.cash if kind == PaymentKind.CASH else self.card,
                "kind": kind, "staff_id": 1, "created_at": _at(day, rnd),
                "shift_id": shift_id})
        self.rows["moves"].append({"amount": rnd.choice([100000, -200000]), "reason": "Размен",
                                   "staff_id": 1, "created_at": _at(day, rnd),
                                   "shift_id": shift_id})

    def day(self, day: date, n: int, per_day: int) -> None:
        opened = datetime.combine(day, dtime(8, 55), tzinfo=TZ).astimezone(UTC)
        closed = datetime.combine(day, dtime(23, 59, 30), tzinfo=TZ).astimezone(UTC)
        shift_id = n + 1
        self.rows["shifts"].append({"id": shift_id, "number": shift_id,
                                    "status": ShiftStatus.CLOSED, "opened_at": opened,
                                    "closed_at": closed, "opened_by_id": 1,
                                    "drawer_at_open": 0})
        self.accept(day, n)
        self.finish(day, n)
        self.refunds(day, self.sales(day, per_day, shift_id), shift_id)
        self.spend(day, shift_id)


async def seed(factory: async_sessionmaker[AsyncSession], days: int, per_day: int,
               end: date, seed_value: int = 6) -> dict[str, int]:
    start = end - timedelta(days=days - 1)
    async with factory() as s, s.begin():
        types = {t.kind: t.id for t in await s.scalars(select(PaymentType))}
        status = {st.code: st.id for st in await s.scalars(select(Status))}
        year = _Year(random.Random(seed_value), status, types[PaymentKind.CASH],
                     types[PaymentKind.CASHLESS])
        staff = [{"id": 1, "tg_user_id": 1, "name": "Владелец", "role": Role.OWNER,
                  "commission_bp": 0, "active": True}]
        staff += [{"id": i, "tg_user_id": i, "name": f"Мастер {i}", "role": Role.MASTER,
                   "commission_bp": 1000 * i, "active": True} for i in range(2, 7)]
        await _bulk(s, Staff, staff)
        for n in range(days):
            year.day(start + timedelta(days=n), n, per_day)
        rows = year.rows
        for t in rows["tickets"]:
            t.pop("due", None)
        for model, name in ((Shift, "shifts"), (Client, "clients"), (Device, "devices"),
                            (Ticket, "tickets"), (StatusChange, "history"),
                            (Receipt, "receipts"), (ReceiptLine, "lines"), (Payment, "payments"),
                            (Expense, "expenses"), (CashMove, "moves")):
            await _bulk(s, model, rows[name])
    async with factory() as s, s.begin():
        await s.execute(text("ANALYZE"))  # fresh planner statistics on both
    return {"tickets": len(rows["tickets"]), "status_history": len(rows["history"]),
            "receipts": len(rows["receipts"]), "receipt_lines": len(rows["lines"]),
            "payments": len(rows["payments"]), "expenses": len(rows["expenses"]),
            "cash_moves": len(rows["moves"])}


async def _export_lines(session: AsyncSession, lo: datetime, hi: datetime) -> int:
    """The export's rows read page by page (as the bot streams them; the file is
    bench/export_bench.py's business): how many lines."""
    return sum([len(r.lines) async for page in export_pages(session, lo, hi) for r in page])


async def timed(factory: async_sessionmaker[AsyncSession], repeat: int,
                job: Callable[[AsyncSession], Awaitable[Any]]) -> tuple[float, Any]:
    """The median of `repeat` runs in ms, each in a fresh transaction, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        async with factory() as s, s.begin():
            t0 = time.perf_counter()
            result = await job(s)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, result


async def run(url: str, days: int, per_day: int, repeat: int, explain: bool) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    factory = create_session_factory(engine)
    end = date(2026, 11, 25)
    t0 = time.perf_counter()
    counts = await seed(factory, days, per_day, end)
    print(f"\n== {engine.dialect.name}: seeded in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    now = datetime.combine(end, dtime(18), tzinfo=TZ).astimezone(UTC)
    busy = end - timedelta(days=3)
    year = Period(end - timedelta(days=days - 1), end)
    month = Period(end.replace(day=1), end)
    day_lo, day_hi = day_range(busy, TZ)
    year_lo, year_hi = period_range(year, TZ)
    month_lo, month_hi = period_range(month, TZ)
    jobs: list[tuple[str, Callable[[AsyncSession], Awaitable[Any]], Callable[[Any], str]]] = [
        ("/today (a busy day)", lambda s: day_report(s, busy, TZ, now=now),
         lambda r: f"{r.total.sales_count} receipts"),
        ("/today (today)", lambda s: day_report(s, end, TZ, now=now),
         lambda r: f"{r.total.sales_count} receipts"),
        (f"/report {days} days, by month", lambda s: period_report(s, year, TZ, now=now),
         lambda r: f"{r.total.sales_count} receipts, {len(r.lines)} lines"),
        (f"/report {days} days, by day", lambda s: period_report(s, year, TZ, unit="day",
                                                                  now=now),
         lambda r: f"{len(r.lines)} lines"),
        ("receipts list, day, page 1",
         lambda s: list_receipts(s, day_lo, day_hi, offset=0, limit=8),
         lambda r: f"{r[1]} match"),
        ("receipts list, year, card + master, page 3",
         lambda s: list_receipts(s, year_lo, year_hi, ReceiptFilter(payment_type_id=2,
                                                                    master_id=3),
                                 offset=16, limit=8),
         lambda r: f"{r[1]} match"),
        ("export rows, month (pages)", lambda s: _export_lines(s, month_lo, month_hi),
         lambda r: f"{r} lines"),
        ("export rows, year (pages)", lambda s: _export_lines(s, year_lo, year_hi),
         lambda r: f"{r} lines"),
        ("payroll, month", lambda s: payroll(s, month, TZ, with_tickets=True),
         lambda r: f"{len(r.tickets)} tickets"),
    ]
    for name, job, describe in jobs:
        ms, result = await timed(factory, repeat, job)
        print(f"  {name:<44} {ms:9.1f} ms   ({describe(result)})")
    if explain and engine.dialect.name == "postgresql":
        from db.reports.measures import _in, ranges_cte
        from db.reports.periods import day_buckets

        b = ranges_cte([(d.index, d.lo, d.hi) for d in day_buckets(year, TZ)])
        query = (select(b.c.i, Payment.payment_type_id, func.sum(Payment.amount))
                 .select_from(b.cte)
                 .join(Payment, _in(b, Payment.created_at))
                 .join(Receipt, Receipt.id == Payment.receipt_id)
                 .group_by(b.c.i, Payment.payment_type_id))
        async with engine.connect() as conn:
            compiled = query.compile(engine.sync_engine)
            plan = await conn.exec_driver_sql(  # asyncpg: $n placeholders, positional
                "EXPLAIN ANALYZE " + str(compiled),
                tuple(compiled.params[k] for k in compiled.positiontup or []))
            print("\n".join(row[0] for row in plan))
    await engine.dispose()


async def _pg_database(admin_url: str, name: str, drop: bool = False) -> str:
    import asyncpg

    u = make_url(admin_url)
    conn = await asyncpg.connect(host=u.host or "127.0.0.1", port=u.port or 5432,
                                 user=u.username or "postgres", password=u.password,
                                 database=u.database or "postgres")
    try:
        if drop:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return u.set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--receipts", type=int, default=40, help="paid sales per day")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}", args.days,
                      args.receipts, args.repeat, args.explain)
    if args.db in ("postgres", "both"):
        name = f"bench_reports_{uuid.uuid4().hex[:8]}"
        url = await _pg_database(args.pg, name)
        try:
            await run(url, args.days, args.receipts, args.repeat, args.explain)
        finally:
            await _pg_database(args.pg, name, drop=True)


if __name__ == "__main__":
    asyncio.run(main())
