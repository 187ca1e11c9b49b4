"""Exports open with the standard csv module, zipfile and openpyxl and carry the report's
sums; the streamed rows keep the one-query semantics across page edges; the chart is a PNG."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.i18n import make_i18n
from bot.views.charts import ChartDay, ChartLabels, revenue_chart
from bot.views.exports import payroll_csv, payroll_xlsx
from bot.views.receipts_file import CsvLines, LocalTimes, XlsxLines, fill, quoted
from db.desk.models import Staff, Ticket
from db.money.models import (
    Payment,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
)
from db.reports import export_rows
from db.reports.export_rows import (
    ExportLine,
    export_pages,
    export_size,
    has_receipts,
    receipt_lines,
)
from db.reports.periods import Period, day_range
from db.reports.queries import payroll, period_report
from tests.test_reports import NOW, D, _busy_day
from tests.test_reports_support import KYIV, Shop, kyiv


@pytest.fixture
def ru() -> Iterator[None]:
    i18n = make_i18n("ru")
    with i18n.context(), i18n.use_locale("ru"):
        yield


def _kopecks(value: object) -> int:
    amount = Decimal(str(value)) * 100
    assert amount == amount.to_integral_value(), value
    return int(amount)


async def _reference_lines(session: AsyncSession, lo: datetime, hi: datetime,
                           lang: str) -> list[ExportLine]:
    """The export's rows as the one-query implementation before streaming made them (a join of
    everything, in memory): the semantics the pages must keep."""
    master, cashier = aliased(Staff), aliased(Staff)
    paid = and_(Receipt.status == ReceiptStatus.PAID, Receipt.paid_at >= lo, Receipt.paid_at < hi)
    types: dict[int, list[str]] = defaultdict(list)
    for receipt_id, name_ru, name_uk in await session.execute(
        select(Payment.receipt_id, PaymentType.name_ru, PaymentType.name_uk)
        .join(Receipt, Receipt.id == Payment.receipt_id)
        .join(PaymentType, PaymentType.id == Payment.payment_type_id)
        .where(paid).order_by(Payment.receipt_id, Payment.id)
    ):
        name = name_uk if lang == "uk" else name_ru
        if name not in types[receipt_id]:
            types[receipt_id].append(name)
    out = []
    for (paid_at, receipt_id, kind, related, number, master_name, cashier_name, name, code,
         quantity, price, amount, fiscal_code) in await session.execute(
        select(Receipt.paid_at, Receipt.id, Receipt.kind, Receipt.related_receipt_id,
               Ticket.number, master.name, cashier.name, ReceiptLine.name, ReceiptLine.code,
               ReceiptLine.quantity, ReceiptLine.price, ReceiptLine.amount, Receipt.fiscal_code)
        .join(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
        .outerjoin(Ticket, Ticket.id == Receipt.ticket_id)
        .outerjoin(master, master.id == Ticket.master_id)
        .outerjoin(cashier, cashier.id == Receipt.paid_by_id)
        .where(paid).order_by(Receipt.paid_at, Receipt.id, ReceiptLine.id)
    ):
        sign = -1 if kind == ReceiptKind.REFUND else 1
        out.append(ExportLine(paid_at, receipt_id, kind, related, number, master_name or "",
                              cashier_name or "", name, code, sign * quantity, price,
                              sign * amount, ", ".join(types.get(receipt_id, ())),
                              fiscal_code or ""))
    return out


async def _export_day(shop: Shop) -> dict[str, object]:
    """The busy day, plus three receipts paid at the very same moment (they straddle page
    edges at small page sizes) and a line whose name needs CSV quoting."""
    made = await _busy_day(shop)
    same = kyiv(2026, 3, 2, 11)
    made["same"] = [await shop.sale(same, 100 * (i + 1), name=f"Чехол {i}") for i in range(3)]
    made["quoted"] = await shop.sale(kyiv(2026, 3, 2, 11, 30), 2500, qty=2000,
                                     name='Кабель "USB-C", 1 м', code="C,1")
    return made


def _span() -> tuple[datetime, datetime]:
    return day_range(D, KYIV)[0], day_range(D + timedelta(days=1), KYIV)[1]


@pytest.mark.parametrize("page_size", [1, 2, 3, 5000])
async def test_pages_keep_the_rows_semantics(session: AsyncSession, page_size: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    shop = await Shop.create(session)
    made = await _export_day(shop)
    monkeypatch.setattr(export_rows, "PAGE_RECEIPTS", page_size)
    lo, hi = _span()
    for lang in ("ru", "uk"):
        lines = await receipt_lines(session, lo, hi, lang)
        assert lines == await _reference_lines(session, lo, hi, lang)
    assert len(lines) == 9
    receipts = [r.receipt_id for page in [p async for p in export_pages(session, lo, hi)]
                for r in page]
    assert len(receipts) == len(set(receipts)) == 9  # each once, across every page edge
    same = {r.id for r in made["same"]}  # type: ignore[attr-defined]
    assert same <= set(receipts)
    size = await export_size(session, lo, hi)
    assert (size.receipts, size.lines) == (9, 9)
    assert await has_receipts(session, lo, hi)
    assert not await has_receipts(session, hi, hi + timedelta(days=1))


async def test_csv_plain_and_zipped(session: AsyncSession, ru: None, tmp_path: Path) -> None:
    shop = await Shop.create(session)
    made = await _export_day(shop)
    period = Period(D, D + timedelta(days=1))
    report = await period_report(session, period, KYIV, unit="day", now=NOW)
    lo, hi = _span()
    datas = []
    for zipped in (False, True):
        file = CsvLines(tmp_path / f"r{zipped}", KYIV, zipped=zipped, member="receipts.csv")
        await fill(file, export_pages(session, lo, hi, "ru", page_size=2), _ignore)
        await asyncio.to_thread(file.close)
        assert (file.receipts, file.lines, file.total) == (9, 9, report.total.revenue)
        if zipped:
            with zipfile.ZipFile(file.path) as archive:
                assert archive.namelist() == ["receipts.csv"]
                datas.append(archive.read("receipts.csv"))
        else:
            datas.append(file.path.read_bytes())
    assert datas[0] == datas[1]
    data = datas[0]
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheets
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 9
    assert list(rows[0]) == ["Дата и время", "Чек №", "Вид", "К чеку №", "Обращение", "Мастер",
                             "Кассир", "Наименование", "Код", "Кол-во", "Цена", "Сумма",
                             "Оплата", "Фискальный номер"]
    total = sum(_kopecks(r["Сумма"]) for r in rows)
    assert total == report.total.revenue == 185033 + 7000 - 10011 + 600 + 5000
    assert sum(_kopecks(r["Сумма"]) for r in rows if r["Вид"] == "продажа") == report.total.sales
    assert -sum(_kopecks(r["Сумма"]) for r in rows if r["Вид"] == "возврат") == \
        report.total.refunds
    for r in rows:  # quantity × price = sum, to the kopeck
        assert abs(Decimal(r["Кол-во"]) * _kopecks(r["Цена"]) - _kopecks(r["Сумма"])) < 1
    split = next(r for r in rows if r["Чек №"] == str(made["r2"].id))  # type: ignore[attr-defined]
    assert (split["Кол-во"], split["Цена"], split["Сумма"], split["Оплата"]) == (
        "3", "100.11", "300.33", "Наличные, Карта")
    assert split["Мастер"] == "Петя" and split["Обращение"] == str(made["t1"].number)  # type: ignore[attr-defined]
    back = next(r for r in rows if r["Вид"] == "возврат")
    assert (back["Кол-во"], back["Сумма"], back["К чеку №"]) == (
        "-1", "-100.11", str(made["r2"].id))  # type: ignore[attr-defined]
    odd = next(r for r in rows if r["Код"] == "C,1")
    assert (odd["Наименование"], odd["Кол-во"], odd["Сумма"]) == (
        'Кабель "USB-C", 1 м', "2", "50")
    # shop-local time: the 00:10 sale is on 3 March although it is 2 March in UTC
    late = next(r for r in rows if r["Чек №"] == str(made["r4"].id))  # type: ignore[attr-defined]
    assert late["Дата и время"] == "2026-03-03 00:10:00"
    assert [r["Дата и время"] for r in rows] == sorted(r["Дата и время"] for r in rows)


async def test_xlsx_lines_and_report(session: AsyncSession, ru: None, tmp_path: Path) -> None:
    shop = await Shop.create(session)
    await _busy_day(shop)
    period = Period(D, D + timedelta(days=1))
    report = await period_report(session, period, KYIV, unit="day", now=NOW)
    file = XlsxLines(tmp_path / "r.xlsx", KYIV, report, "ru")
    await fill(file, export_pages(session, *_span(), "ru", page_size=2), _ignore)
    await asyncio.to_thread(file.close)
    book = load_workbook(file.path)
    assert book.sheetnames == ["Чеки", "Итоги", "По дням"]
    sheet = list(book["Чеки"].iter_rows(values_only=True))
    assert sheet[0][11] == "Сумма" and len(sheet) == file.lines + 1 == 6
    assert sum(_kopecks(r[11]) for r in sheet[1:]) == report.total.revenue
    assert isinstance(sheet[1][0], datetime) and sheet[-1][0] == datetime(2026, 3, 3, 0, 10)
    summary = {r[0]: r[1] for r in book["Итоги"].iter_rows(values_only=True)}
    assert _kopecks(summary["Выручка"]) == report.total.revenue
    assert _kopecks(summary["Продажи"]) == report.total.sales
    assert _kopecks(summary["Расходы наличными"]) == -report.total.expenses_cash
    assert _kopecks(summary["  Карта: возвраты"]) == -10011
    assert summary["Чеков продажи"] == report.total.sales_count == 4
    days = list(book["По дням"].iter_rows(values_only=True))
    assert len(days) == 3 and sum(_kopecks(r[2]) for r in days[1:]) == report.total.revenue
    assert days[2][0] == datetime(2026, 3, 3)


@pytest.mark.parametrize("zone", ["Europe/Kyiv", "Asia/Kathmandu", "America/St_Johns"])
def test_local_times_are_strftime(zone: str) -> None:
    """The 15-minute-block shortcut gives what astimezone + strftime give, DST days too."""
    tz = ZoneInfo(zone)
    times = LocalTimes(tz)
    start = datetime(2026, 3, 28, tzinfo=UTC)  # Kyiv's spring change is on 29 March
    for minutes in range(0, 4 * 24 * 60, 7):
        moment = start + timedelta(minutes=minutes, seconds=minutes % 60, microseconds=999_999)
        assert times(moment) == moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    autumn = datetime(2026, 10, 24, 23, 59, 59, tzinfo=UTC)
    for minutes in range(0, 3 * 24 * 60, 11):
        moment = autumn + timedelta(minutes=minutes)
        assert times(moment) == moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def test_quoted_is_what_csv_writes() -> None:
    for text in ["", "a", "a,b", 'say "hi"', "two\nlines", "cr\r", " lead", "Ёж;|"]:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow([text, "x"])
        assert out.getvalue() == f"{quoted(text)},x\r\n", text


async def _ignore(_done: int) -> None:
    return None


async def test_payroll_exports(session: AsyncSession, ru: None) -> None:
    shop = await Shop.create(session)
    await _busy_day(shop)
    result = await payroll(session, Period(D, D), KYIV, with_tickets=True)
    rows = list(csv.reader(io.StringIO(payroll_csv(result).decode("utf-8-sig"))))
    assert rows == [["Мастер", "Обращений", "База", "Процент", "Комиссия"],
                    ["Петя", "1", "1500.22", "30", "450.07"]]
    book = load_workbook(io.BytesIO(payroll_xlsx(result, KYIV)))
    assert book.sheetnames == ["Зарплата", "Обращения"]
    sheet = list(book["Зарплата"].iter_rows(values_only=True))
    assert sheet[2][:3] == ("Петя", 1, 1500.22) and _kopecks(sheet[-1][4]) == result.total
    tickets = list(book["Обращения"].iter_rows(values_only=True))
    assert len(tickets) == 2 and _kopecks(tickets[1][5]) == 45007 and tickets[1][4] == 30


def test_chart_is_png() -> None:
    days = [ChartDay(date(2026, 11, 1) + timedelta(days=i), (i - 3) * 10000, i % 4, i % 3)
            for i in range(14)]
    png = revenue_chart(days, ChartLabels("Выручка и обращения", "Выручка, ₴", "Принято",
                                          "Закрыто"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (880, 462)
    empty = revenue_chart([ChartDay(date(2026, 11, 1), 0, 0, 0)],
                          ChartLabels("—", "₴", "a", "b"))
    assert empty.startswith(b"\x89PNG")


def test_start_up_loads_neither_openpyxl_nor_matplotlib() -> None:
    code = ("import sys, bot.app, handlers.routers, scheduler; "
            "print(sorted({'openpyxl', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip() == "[]"
