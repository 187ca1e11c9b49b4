"""Reports reconcile to the kopeck with the money and tickets the tests make through db/
operations; local days (Kyiv) including 23:30, midnight and both DST changes; empty days;
a year-long period; a fixed number of SQL statements whatever the data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role
from db.errors import PermissionDenied
from db.money.models import ReceiptKind
from db.reports.export_rows import receipt_lines
from db.reports.periods import Period, day_range, period_range
from db.reports.queries import (
    ReceiptFilter,
    Totals,
    day_report,
    list_receipts,
    merge,
    payroll,
    period_report,
    receipt_detail,
    totals,
)
from tests.factories import make_staff
from tests.test_reports_support import KYIV, Shop, kyiv

D = date(2026, 3, 2)  # a Monday, Kyiv is UTC+2
NOW = kyiv(2026, 12, 31, 23, 59)  # "now" for the drawer: after every test's data


def _in_day(moment, day: date) -> bool:  # type: ignore[no-untyped-def]
    lo, hi = day_range(day, KYIV)
    return lo <= moment < hi


def _strip_ready(t: Totals) -> Totals:
    return replace(t, tickets_ready=0)


async def _busy_day(shop: Shop) -> dict[str, object]:
    """The day of test_day_totals_reconcile; returns what it made."""
    d1 = D + timedelta(days=1)
    await shop.cash_move(kyiv(2026, 3, 2, 8, 30), 100000, "Размен утром")
    t1 = await shop.ticket(kyiv(2026, 3, 2, 9, 0))
    t2 = await shop.ticket(kyiv(2026, 3, 2, 9, 30), master=None)
    r1 = await shop.sale(kyiv(2026, 3, 2, 10), 150000, ticket=t1,
                         parts=[(shop.cash, 150000, 200000)])
    r2 = await shop.sale(kyiv(2026, 3, 2, 12), 10011, qty=3000, ticket=t1,
                         parts=[(shop.cash, 10000, None), (shop.card, 20033, None)])
    back = await shop.refund(r2, kyiv(2026, 3, 2, 13), lines=[(r2.lines[0].id, 1000)],
                             by=shop.card)
    await shop.expense(kyiv(2026, 3, 2, 14), 20000, ticket=t1)
    await shop.expense(kyiv(2026, 3, 2, 15), 1500, cash=False, what="Доставка")
    await shop.ready(t1, kyiv(2026, 3, 2, 16))
    await shop.close(t1, kyiv(2026, 3, 2, 17))
    await shop.status(t2, "in_work", kyiv(2026, 3, 2, 17, 30))
    await shop.status(t2, "refused", kyiv(2026, 3, 2, 18))
    await shop.cash_move(kyiv(2026, 3, 2, 19), -30000, "Инкассация")
    r3 = await shop.sale(kyiv(2026, 3, 2, 23, 30), 5000, parts=[(shop.card, 5000, None)])
    t3 = await shop.ticket(kyiv(2026, 3, 3, 0, 5))  # UTC is still 2 March
    r4 = await shop.sale(kyiv(2026, 3, 3, 0, 10), 7000)
    assert r4.paid_at is not None and r4.paid_at.date() == D  # UTC date ≠ local date
    return {"t1": t1, "t2": t2, "t3": t3, "r1": r1, "r2": r2, "r3": r3, "r4": r4,
            "refund": back, "d1": d1}


async def test_day_totals_reconcile(session: AsyncSession) -> None:
    shop = await Shop.create(session, bp=3000)
    made = await _busy_day(shop)
    report = await day_report(session, D, KYIV, now=NOW)
    t = report.total

    # what the test made, added up here row by row (the report adds up in SQL)
    sales = [r for r in shop.receipts if _in_day(r.paid_at, D)]
    refunds = [r for r in shop.refunds if _in_day(r.paid_at, D)]
    assert t.sales == sum(r.total for r in sales) == 150000 + 30033 + 5000
    assert t.sales_count == len(sales) == 3
    assert t.refunds == sum(r.total for r in refunds) == 10011
    assert t.refunds_count == 1
    assert t.revenue == 175022
    assert t.average == 61678  # 185 033 / 3 = 61 677,67 → half up
    assert t.change_given == 50000
    by_type = {p.payment_type_id: (p.sales, p.refunds, p.net) for p in t.payment_types}
    assert by_type == {shop.cash.id: (160000, 0, 160000), shop.card.id: (25033, 10011, 15022)}
    assert [p.title("uk") for p in t.payment_types] == ["Готівка", "Картка"]
    assert sum(p.net for p in t.payment_types) == t.revenue
    assert (t.expenses_cash, t.expenses_cashless, t.expenses, t.expenses_count) == (
        20000, 1500, 21500, 2)
    assert (t.service_in, t.service_out, t.service_count) == (100000, 30000, 2)
    assert (t.tickets_accepted, t.tickets_ready, t.tickets_done, t.tickets_refused) == (
        2, 1, 1, 1)
    # commission as db.money.closing stamped it: (1 800,33 − 100,11 − 200,00) × 30 %
    t1 = made["t1"]
    await session.refresh(t1)
    assert (t1.commission_base, t1.commission) == (150022, 45007)  # type: ignore[attr-defined]
    assert [(m.master_id, m.name, m.tickets, m.base, m.commission, m.bp_min, m.bp_max)
            for m in t.masters] == [(shop.master.id, "Петя", 1, 150022, 45007, 3000, 3000)]
    # drawer at the end of the day: 1 600,00 − 200,00 + 1 000,00 − 300,00
    assert t.drawer_change == 210000
    assert (report.drawer, report.is_current) == (210000, False)
    assert report.drawer_at == day_range(D, KYIV)[1]

    # the next day holds the 00:10 sale and the 00:05 ticket
    nxt = await totals(session, Period(made["d1"], made["d1"]), KYIV)  # type: ignore[arg-type]
    assert (nxt.sales, nxt.sales_count, nxt.tickets_accepted) == (7000, 1, 1)


async def test_period_lines_add_up_and_drawer_now(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    made = await _busy_day(shop)
    period = Period(D - timedelta(days=1), made["d1"])  # type: ignore[arg-type]
    now = kyiv(2026, 3, 3, 12)
    report = await period_report(session, period, KYIV, now=now)
    assert report.unit == "day" and [x.bucket.start for x in report.lines] == [
        D - timedelta(days=1), D, D + timedelta(days=1)]
    assert report.lines[0].totals == Totals()
    assert _strip_ready(merge(x.totals for x in report.lines)) == _strip_ready(report.total)
    assert report.total.sales == 185033 + 7000
    assert (report.is_current, report.drawer) == (True, 210000 + 7000)
    assert report.lo == day_range(D - timedelta(days=1), KYIV)[0]
    assert report.hi == day_range(D + timedelta(days=1), KYIV)[1]


async def test_dst_days_and_midnights(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    # spring forward: Sunday 29 March 2026 has 23 hours
    lo, hi = day_range(date(2026, 3, 29), KYIV)
    assert hi - lo == timedelta(hours=23)
    for moment, price in [(kyiv(2026, 3, 28, 23, 30), 101), (kyiv(2026, 3, 29, 0, 10), 202),
                          (kyiv(2026, 3, 29, 23, 30), 303), (kyiv(2026, 3, 30, 0, 10), 404)]:
        await shop.sale(moment, price)
    report = await period_report(session, Period(date(2026, 3, 28), date(2026, 3, 30)), KYIV,
                                 now=NOW)
    assert [x.totals.sales for x in report.lines] == [101, 505, 404]
    # fall back: Sunday 25 October 2026 has 25 hours, 03:30 happens twice
    lo, hi = day_range(date(2026, 10, 25), KYIV)
    assert hi - lo == timedelta(hours=25)
    first, second = kyiv(2026, 10, 25, 3, 30), kyiv(2026, 10, 25, 3, 30, fold=1)
    assert second - first == timedelta(hours=1)
    for moment, price in [(kyiv(2026, 10, 24, 23, 59), 1), (first, 20), (second, 300),
                          (kyiv(2026, 10, 25, 23, 30), 4000),
                          (kyiv(2026, 10, 26, 0, 0), 50000)]:
        await shop.sale(moment, price)
    report = await period_report(session, Period(date(2026, 10, 24), date(2026, 10, 26)),
                                 KYIV, now=NOW)
    assert [(x.totals.sales, x.totals.sales_count) for x in report.lines] == [
        (1, 1), (4320, 3), (50000, 1)]
    assert report.total.sales == 54321
    # the day view agrees with the period's line
    assert (await day_report(session, date(2026, 10, 25), KYIV, now=NOW)).total.sales == 4320


async def test_empty_day_and_period(session: AsyncSession) -> None:
    report = await day_report(session, D, KYIV, now=NOW)
    assert report.total == Totals() and report.total.is_empty
    assert (report.total.average, report.total.revenue, report.drawer) == (0, 0, 0)
    period = await period_report(session, Period(D, D + timedelta(days=6)), KYIV, now=NOW)
    assert len(period.lines) == 7 and all(x.totals == Totals() for x in period.lines)
    # a shop with money elsewhere: an empty day is still empty, the drawer still shown
    shop = await Shop.create(session)
    await shop.sale(kyiv(2026, 3, 1, 12), 12345)
    empty = await day_report(session, D, KYIV, now=NOW)
    assert empty.total.is_empty and empty.drawer == 12345


async def test_year_long_period(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    made = []
    for month in range(1, 13):
        late = await shop.sale(kyiv(2026, month, 15, 23, 30), month * 1000 + 7)
        made.append(late)
        early = await shop.sale(kyiv(2026, month, 28, 0, 30), 50 * month,
                                parts=[(shop.card, 50 * month, None)])
        made.append(early)
        if month % 3 == 0:
            await shop.refund(late, kyiv(2026, month, 16, 10))
        await shop.expense(kyiv(2026, month, 20, 11), 100 + month)
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    counter: list[str] = []

    def count(*args: object) -> None:
        counter.append(str(args[2])[:40])

    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", count)
    try:
        report = await period_report(session, year, KYIV, unit="day", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # fixed statements whatever the length: the rollups read and one UNION ALL of the
    # measures, for the total and again for the lines; names, drawer
    assert len(counter) <= 10, counter
    assert len(report.lines) == 365
    t = report.total
    assert t.sales == sum(r.total for r in made) == sum(m * 1000 + 7 + 50 * m
                                                         for m in range(1, 13))
    assert t.sales_count == 24
    assert t.refunds == sum(m * 1000 + 7 for m in (3, 6, 9, 12)) and t.refunds_count == 4
    assert t.expenses == sum(100 + m for m in range(1, 13))
    assert _strip_ready(merge(x.totals for x in report.lines)) == _strip_ready(t)
    by_day = {x.bucket.start: x.totals.sales for x in report.lines if x.totals.sales}
    assert by_day[date(2026, 7, 15)] == 7007 and by_day[date(2026, 7, 28)] == 350
    months = await period_report(session, year, KYIV, now=NOW)
    assert months.unit == "month" and len(months.lines) == 12
    assert [x.totals.sales for x in months.lines] == [m * 1000 + 7 + 50 * m for m in range(1, 13)]
    assert _strip_ready(merge(x.totals for x in months.lines)) == _strip_ready(t)
    assert (months.lines[2].bucket.start, months.lines[2].bucket.end) == (
        date(2026, 3, 1), date(2026, 3, 31))


async def test_receipts_list_paging_and_filters(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    other = await make_staff(session, Role.MASTER, name="Вася", commission_bp=1000)
    t_petya = await shop.ticket(kyiv(2026, 3, 2, 8))
    t_vasya = await shop.ticket(kyiv(2026, 3, 2, 8), master=other)
    made = []
    for i in range(12):
        ticket = t_petya if i % 3 == 0 else t_vasya if i % 3 == 1 else None
        parts = [(shop.card, 1000 + i, None)] if i % 2 else []
        made.append(await shop.sale(kyiv(2026, 3, 2, 9, i * 4), 1000 + i, ticket=ticket,
                                    parts=parts))
    back1 = await shop.refund(made[0], kyiv(2026, 3, 2, 11))
    back2 = await shop.refund(made[1], kyiv(2026, 3, 2, 11, 5), by=shop.card)
    await shop.sale(kyiv(2026, 3, 3, 9), 999)  # the next day: not listed
    lo, hi = day_range(D, KYIV)

    page0, count = await list_receipts(session, lo, hi, offset=0, limit=5)
    assert count == 14 and [r.id for r in page0] == [back2.id, back1.id, made[11].id,
                                                     made[10].id, made[9].id]
    assert page0[0].kind == ReceiptKind.REFUND and page0[0].total == 1001
    page2, _count = await list_receipts(session, lo, hi, offset=10, limit=5)
    assert [r.id for r in page2] == [made[3].id, made[2].id, made[1].id, made[0].id]
    assert page2[-1].ticket_number == t_petya.number and page2[-1].master_name == "Петя"
    assert page2[1].ticket_number is None and page2[1].master_name is None

    cards, count = await list_receipts(session, lo, hi, ReceiptFilter(payment_type_id=shop.card.id),
                                       limit=50)
    assert count == 7 and {r.id for r in cards} == {*(m.id for i, m in enumerate(made) if i % 2),
                                                    back2.id}
    assert all(r.payment_type_ids == (shop.card.id,) for r in cards)
    vasya, count = await list_receipts(session, lo, hi, ReceiptFilter(master_id=other.id),
                                       limit=50)
    assert count == 5 and {r.id for r in vasya} == {made[i].id for i in (1, 4, 7, 10)} | {
        back2.id}
    refunds, count = await list_receipts(session, lo, hi, ReceiptFilter(refunds_only=True))
    assert count == 2 and [r.id for r in refunds] == [back2.id, back1.id]
    both, count = await list_receipts(session, lo, hi, ReceiptFilter(
        payment_type_id=shop.cash.id, master_id=shop.master.id, refunds_only=True))
    assert count == 1 and both[0].id == back1.id
    nothing, count = await list_receipts(session, lo, hi, offset=100, limit=5)
    assert (nothing, count) == ([], 14)


async def test_receipt_detail_and_refundable(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    ticket = await shop.ticket(kyiv(2026, 3, 2, 9))
    sale = await shop.sale(kyiv(2026, 3, 2, 10), 25000, qty=2000, ticket=ticket,
                           parts=[(shop.cash, 30000, 50000), (shop.card, 20000, None)])
    detail = await receipt_detail(session, sale.id)
    assert detail.refundable and detail.refunds == () and detail.ticket_number == ticket.number
    assert detail.master_name == "Петя" and detail.cashier_name == "Владелец"
    assert set(detail.payment_types) == {shop.cash.id, shop.card.id}
    first = await shop.refund(sale, kyiv(2026, 3, 2, 11), lines=[(sale.lines[0].id, 1000)])
    detail = await receipt_detail(session, sale.id)
    assert detail.refundable and detail.refunded == 25000
    await shop.refund(sale, kyiv(2026, 3, 2, 12), by=shop.card)
    detail = await receipt_detail(session, sale.id)
    assert not detail.refundable and detail.refunded == 50000 and len(detail.refunds) == 2
    back = await receipt_detail(session, first.id)
    assert not back.refundable and back.receipt.related_receipt_id == sale.id


async def test_receipt_lines_for_export(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    made = await _busy_day(shop)
    lo, hi = day_range(D, KYIV)
    lines = await receipt_lines(session, lo, hi, "ru")
    report = await day_report(session, D, KYIV, now=NOW)
    assert len(lines) == 4  # r1, r2, the refund of r2, r3 (one line each)
    assert sum(x.amount for x in lines) == report.total.revenue
    assert sum(x.amount for x in lines if x.kind == ReceiptKind.SALE) == report.total.sales
    assert -sum(x.amount for x in lines if x.kind == ReceiptKind.REFUND) == report.total.refunds
    refund_line = next(x for x in lines if x.kind == ReceiptKind.REFUND)
    r2 = made["r2"]
    assert (refund_line.quantity, refund_line.price, refund_line.amount) == (-1000, 10011, -10011)
    assert refund_line.related_receipt_id == r2.id  # type: ignore[attr-defined]
    split = next(x for x in lines if x.receipt_id == r2.id)  # type: ignore[attr-defined]
    assert split.payment_types == "Наличные, Карта" and split.quantity == 3000
    assert split.master == "Петя" and split.ticket_number == made["t1"].number  # type: ignore[attr-defined]
    quick = next(x for x in lines if x.receipt_id == made["r3"].id)  # type: ignore[attr-defined]
    assert quick.ticket_number is None and quick.master == "" and quick.payment_types == "Карта"
    assert [x.paid_at for x in lines] == sorted(x.paid_at for x in lines)
    uk = await receipt_lines(session, lo, hi, "uk")
    assert uk[1].payment_types == "Готівка, Картка"


async def test_payroll_per_master(session: AsyncSession) -> None:
    shop = await Shop.create(session, bp=3000)
    other = await make_staff(session, Role.MASTER, name="Вася", commission_bp=1250)
    tickets = []
    for i, (master, price) in enumerate([(True, 100000), (True, 50001), (other, 40000),
                                         (None, 9999)]):
        ticket = await shop.ticket(kyiv(2026, 3, 2, 9, i), master=master)
        await shop.sale(kyiv(2026, 3, 2, 10, i), price, ticket=ticket)
        await shop.ready(ticket, kyiv(2026, 3, 2, 11, i))
        await shop.close(ticket, kyiv(2026, 3, 2 + i, 12))  # closed on 2, 3, 4, 5 March
        tickets.append(ticket)
    # Petya's percent changes; a reopened and re-closed ticket keeps only its last closing
    from db.desk.staff import set_commission

    await set_commission(session, shop.owner, shop.master.id, 2000)
    await shop.status(tickets[1], "in_work", kyiv(2026, 3, 6, 9))
    await shop.status(tickets[1], "ready", kyiv(2026, 3, 6, 9, 10))
    await shop.close(tickets[1], kyiv(2026, 3, 6, 10))

    march = Period(date(2026, 3, 1), date(2026, 3, 31))
    result = await payroll(session, march, KYIV, with_tickets=True)
    rows = {m.name or None: (m.tickets, m.base, m.commission, m.bp_min, m.bp_max)
            for m in result.masters}
    assert rows == {
        "Петя": (2, 150001, 30000 + 10000, 2000, 3000),  # 30 % of 1000,00; 20 % of 500,01
        "Вася": (1, 40000, 5000, 1250, 1250),
        None: (1, 9999, 0, 0, 0),
    }
    assert result.total == 45000 and result.base == 200000
    assert [(t.master_name, t.ticket_number, t.commission) for t in result.tickets] == [
        ("Вася", tickets[2].number, 5000), ("Петя", tickets[0].number, 30000),
        ("Петя", tickets[1].number, 10000), ("", tickets[3].number, 0)]
    # the day view shows the same aggregate
    day = await totals(session, Period(date(2026, 3, 6), date(2026, 3, 6)), KYIV)
    assert [(m.name, m.tickets, m.commission) for m in day.masters] == [("Петя", 1, 10000)]
    # a narrower period
    early = await payroll(session, Period(date(2026, 3, 2), date(2026, 3, 3)), KYIV)
    assert [(m.name, m.commission) for m in early.masters] == [("Петя", 30000)]
    assert early.tickets == ()


async def test_period_range_is_the_days(session: AsyncSession) -> None:
    period = Period(date(2026, 3, 28), date(2026, 3, 30))
    lo, hi = period_range(period, KYIV)
    assert lo == day_range(date(2026, 3, 28), KYIV)[0]
    assert hi == day_range(date(2026, 3, 30), KYIV)[1]
    assert hi - lo == timedelta(hours=71)


async def test_settings_switches(session: AsyncSession) -> None:
    from db.errors import InvalidValue
    from db.reports.settings import (
        can_see_totals,
        get_report_settings,
        set_digest,
        set_managers_see_totals,
    )

    owner = await make_staff(session, Role.OWNER)
    manager = await make_staff(session, Role.MANAGER)
    master = await make_staff(session, Role.MASTER)
    conf = await get_report_settings(session)
    assert (conf.managers, conf.digest, conf.last_day) == (False, "shift", None)
    assert await can_see_totals(session, owner)
    assert not await can_see_totals(session, manager)
    assert not await can_see_totals(session, master)
    await set_managers_see_totals(session, owner, True)
    assert await can_see_totals(session, manager) and not await can_see_totals(session, master)
    for actor in (manager, master):
        try:
            await set_managers_see_totals(session, actor, False)
        except PermissionDenied:
            pass
        else:
            raise AssertionError("only the owner switches it")
    assert await set_digest(session, owner, "9:05") == "09:05"
    assert (await get_report_settings(session)).digest_time.hour == 9  # type: ignore[union-attr]
    for bad in ("25:00", "завтра", ""):
        try:
            await set_digest(session, owner, bad)
        except InvalidValue:
            continue
        raise AssertionError(bad)
    assert await set_digest(session, owner, "OFF") == "off"
