"""Report exports as files: CSV (the csv module) and XLSX (openpyxl), as bytes to send; the
receipts export streams into a file on disk instead (bot/views/receipts_file.py), with the
same columns and formats described here.

CSV: RFC 4180, comma-separated, UTF-8 with a BOM (Excel and Google Sheets both read Cyrillic
then), numbers with a dot and no grouping ("1200.50"), date-times in the shop's zone as
"YYYY-MM-DD HH:MM:SS". It is meant for machines and spreadsheets; people get XLSX, where
money is a real number formatted "# ##0.00", quantities keep three decimals and date-times
are real dates.

Receipt lines: one row per line of every paid receipt in the period; a refund's lines have a
negative quantity and sum, so the sum column adds up to the period's revenue and splits into
sales and refunds by the kind column. Texts are translated with the current locale (call
inside the update's i18n context, or `i18n.use_locale`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.views.sms_text import sms_kind_label
from db.money.models import ReceiptKind
from db.reports.queries import Payroll, Report, Totals

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

MONEY_FORMAT = "#,##0.00"
QTY_FORMAT = "#,##0.###"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"


def hryvnias(kopecks: int) -> Decimal:
    """Exact decimal hryvnias (never a float)."""
    return Decimal(kopecks) / 100


def items(thousandths: int) -> Decimal:
    return (Decimal(thousandths) / 1000).normalize() + 0  # "+ 0" drops "-0" and exponents


def _num(value: Decimal) -> str:
    return format(value, "f")


def kind_label(kind: ReceiptKind) -> str:
    return _("продажа") if kind == ReceiptKind.SALE else _("возврат")


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def line_headers() -> list[str]:
    return [_("Дата и время"), _("Чек №"), _("Вид"), _("К чеку №"), _("Обращение"),
            _("Мастер"), _("Кассир"), _("Наименование"), _("Код"), _("Кол-во"), _("Цена"),
            _("Сумма"), _("Оплата"), _("Фискальный номер")]


def _csv(rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([
            v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime)
            else _num(v) if isinstance(v, Decimal) else v
            for v in row
        ])
    return out.getvalue().encode("utf-8-sig")


class Sheet:
    """A write-only sheet with formatted cells. openpyxl is imported here, when a file is
    written, not when the bot starts (it is only needed for XLSX exports)."""

    def __init__(self, book: Workbook, title: str) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        self.ws = book.create_sheet(title)
        self._make = WriteOnlyCell
        self._bold = Font(bold=True)

    def cell(self, value: object, number_format: str | None = None, *, bold: bool = False
             ) -> WriteOnlyCell:
        cell = self._make(self.ws, value=value)
        if number_format:
            cell.number_format = number_format
        if bold:
            cell.font = self._bold
        return cell

    def money(self, kopecks: int, *, bold: bool = False) -> WriteOnlyCell:
        return self.cell(hryvnias(kopecks), MONEY_FORMAT, bold=bold)

    def header(self, titles: Sequence[str]) -> None:
        self.ws.append([self.cell(title, bold=True) for title in titles])

    def append(self, row: Sequence[object]) -> None:
        self.ws.append(row)


def new_book() -> Workbook:
    from openpyxl import Workbook

    return Workbook(write_only=True)


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _totals_rows(sheet: Sheet, totals: Totals, lang: str) -> None:
    money_rows = [
        (_("Продажи"), totals.sales), (_("Возвраты"), -totals.refunds),
        (_("Выручка"), totals.revenue),
    ]
    for t in totals.payment_types:
        money_rows.append((_("  {type}: продажи").format(type=t.title(lang)), t.sales))
        money_rows.append((_("  {type}: возвраты").format(type=t.title(lang)), -t.refunds))
    money_rows += [
        (_("Средний чек"), totals.average), (_("Сдача выдана"), totals.change_given),
        (_("Расходы наличными"), -totals.expenses_cash),
        (_("Расходы безналичные"), -totals.expenses_cashless),
        (_("Служебное внесение"), totals.service_in), (_("Служебное изъятие"), -totals.service_out),
        (_("Комиссия мастеров"), totals.commission),
    ]
    for title, value in money_rows:
        sheet.append([title, sheet.money(value)])
    for title, count in [(_("Чеков продажи"), totals.sales_count),
                         (_("Чеков возврата"), totals.refunds_count),
                         (_("Обращений принято"), totals.tickets_accepted),
                         (_("Обращений готово"), totals.tickets_ready),
                         (_("Обращений выдано"), totals.tickets_done),
                         (_("Обращений с отказом"), totals.tickets_refused)]:
        sheet.append([title, count])
    sheet.append([_("SMS отправлено"), totals.sms_total])
    for kind, count in totals.sms:
        sheet.append([_("  SMS: {kind}").format(kind=sms_kind_label(kind)), count])


def _bucket_rows(sheet: Sheet, report: Report) -> None:
    sheet.header([_("С"), _("По"), _("Выручка"), _("Продажи"), _("Чеков"), _("Возвраты"),
                  _("Расходы"), _("Внесено"), _("Изъято"), _("Принято"), _("Выдано"),
                  _("Отказ"), _("Комиссия")])
    for line in report.lines:
        t = line.totals
        sheet.append([
            sheet.cell(line.bucket.start, DATE_FORMAT), sheet.cell(line.bucket.end, DATE_FORMAT),
            sheet.money(t.revenue), sheet.money(t.sales), t.sales_count, sheet.money(t.refunds),
            sheet.money(t.expenses), sheet.money(t.service_in), sheet.money(t.service_out),
            t.tickets_accepted, t.tickets_done, t.tickets_refused, sheet.money(t.commission),
        ])


def summary_sheets(book: Workbook, report: Report, lang: str) -> None:
    """The period's totals, and a line per day (or month) when the report has lines."""
    summary = Sheet(book, _("Итоги"))
    summary.append([summary.cell(_("Период"), bold=True),
                    summary.cell(report.period.start, DATE_FORMAT),
                    summary.cell(report.period.end, DATE_FORMAT)])
    _totals_rows(summary, report.total, lang)
    if report.lines:
        _bucket_rows(Sheet(book, _("По дням") if report.unit == "day" else _("По месяцам")),
                     report)


def summary_xlsx(report: Report, lang: str) -> bytes:
    """The report's sheets alone (no receipt lines)."""
    book = new_book()
    summary_sheets(book, report, lang)
    return _save(book)


# ---- payroll -----------------------------------------------------------------------------

def percent(bp: int) -> Decimal:
    return (Decimal(bp) / 100).normalize() + 0


def _percent_span(bp_min: int, bp_max: int) -> str:
    low, high = _num(percent(bp_min)), _num(percent(bp_max))
    return low if low == high else f"{low}-{high}"


def _master(name: str, master_id: int | None) -> str:
    return name if master_id is not None else _("Без мастера")


def payroll_headers() -> list[str]:
    return [_("Мастер"), _("Обращений"), _("База"), _("Процент"), _("Комиссия")]


def payroll_csv(payroll: Payroll) -> bytes:
    """One row per master: tickets closed as done, Σ base, percent(s), Σ commission."""
    rows: list[Sequence[object]] = [payroll_headers()]
    for m in payroll.masters:
        rows.append([_master(m.name, m.master_id), m.tickets, hryvnias(m.base),
                     _percent_span(m.bp_min, m.bp_max), hryvnias(m.commission)])
    return _csv(rows)


def payroll_xlsx(payroll: Payroll, tz: ZoneInfo) -> bytes:
    """Sheets: per master (with a total row); every ticket behind the numbers."""
    book = new_book()
    masters = Sheet(book, _("Зарплата"))
    masters.append([masters.cell(_("Период"), bold=True),
                    masters.cell(payroll.period.start, DATE_FORMAT),
                    masters.cell(payroll.period.end, DATE_FORMAT)])
    masters.header(payroll_headers())
    for m in payroll.masters:
        masters.append([_master(m.name, m.master_id), m.tickets, masters.money(m.base),
                        _percent_span(m.bp_min, m.bp_max), masters.money(m.commission)])
    masters.append([masters.cell(_("Итого"), bold=True),
                    masters.cell(sum(m.tickets for m in payroll.masters), bold=True),
                    masters.money(payroll.base, bold=True), "",
                    masters.money(payroll.total, bold=True)])

    detail = Sheet(book, _("Обращения"))
    detail.header([_("Мастер"), _("Обращение"), _("Закрыто"), _("База"), _("Процент"),
                   _("Комиссия")])
    for t in payroll.tickets:
        detail.append([_master(t.master_name, t.master_id), t.ticket_number,
                       detail.cell(local(t.closed_at, tz), DATETIME_FORMAT),
                       detail.money(t.base), percent(t.bp), detail.money(t.commission)])
    return _save(book)


def filename(kind: str, start: object, end: object, ext: str) -> str:
    """receipts_2026-11-01_2026-11-30.xlsx (one date for a day)."""
    span = f"{start}" if start == end else f"{start}_{end}"
    return f"{kind}_{span}.{ext}"
