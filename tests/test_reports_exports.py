"""Exports open with the standard csv module and openpyxl and carry the report's sums;
the chart is a PNG."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import make_i18n
from bot.views.charts import ChartDay, ChartLabels, revenue_chart
from bot.views.exports import lines_csv, lines_xlsx, payroll_csv, payroll_xlsx
from db.reports.periods import Period, day_range
from db.reports.queries import payroll, period_report, receipt_lines
from tests.test_reports import NOW, D, _busy_day
from tests.test_reports_support import KYIV, Shop


@pytest.fixture
def ru() -> Iterator[None]:
    i18n = make_i18n("ru")
    with i18n.context(), i18n.use_locale("ru"):
        yield


def _kopecks(value: object) -> int:
    amount = Decimal(str(value)) * 100
    assert amount == amount.to_integral_value(), value
    return int(amount)


async def test_receipt_lines_csv_and_xlsx(session: AsyncSession, ru: None) -> None:
    shop = await Shop.create(session)
    made = await _busy_day(shop)
    period = Period(D, D + timedelta(days=1))
    report = await period_report(session, period, KYIV, unit="day", now=NOW)
    lo, hi = day_range(D, KYIV)[0], day_range(D + timedelta(days=1), KYIV)[1]
    lines = await receipt_lines(session, lo, hi, "ru")
    assert len(lines) == 5

    data = lines_csv(lines, KYIV)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheets
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(lines)
    assert list(rows[0]) == ["Дата и время", "Чек №", "Вид", "К чеку №", "Обращение", "Мастер",
                             "Кассир", "Наименование", "Код", "Кол-во", "Цена", "Сумма",
                             "Оплата", "Фискальный номер"]
    total = sum(_kopecks(r["Сумма"]) for r in rows)
    assert total == report.total.revenue == 185033 + 7000 - 10011
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
    # shop-local time: the 00:10 sale is on 3 March although it is 2 March in UTC
    late = next(r for r in rows if r["Чек №"] == str(made["r4"].id))  # type: ignore[attr-defined]
    assert late["Дата и время"] == "2026-03-03 00:10:00"
    assert datetime.strptime(rows[0]["Дата и время"], "%Y-%m-%d %H:%M:%S")

    book = load_workbook(io.BytesIO(lines_xlsx(lines, report, KYIV, "ru")))
    assert book.sheetnames == ["Чеки", "Итоги", "По дням"]
    sheet = list(book["Чеки"].iter_rows(values_only=True))
    assert sheet[0][11] == "Сумма" and len(sheet) == len(lines) + 1
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
