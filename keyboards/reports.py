"""Reports: the callback data and inline keyboards of the "📊 Отчеты" section.

Days travel as `date.toordinal()` (6–7 digits) and a receipts list carries its whole state
(period, filters, page) in its buttons, so nothing is kept in the FSM and an old list still
works. Every payload stays under Telegram's 64 bytes (tests/test_handlers_reports.py checks
the longest). Handlers re-check access and existence: callback data can be forged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from db.reports.periods import Period
from db.reports.settings import DIGEST_OFF, DIGEST_SHIFT
from keyboards.callbacks import ReceiptPrintCb, RefundAction, RefundCb, SettingsCb
from keyboards.common import DbId, button, chunked, markup

# A day as `date.toordinal()`; 0 where a button carries no day (the menu).
DayNo = Annotated[int, Field(ge=0, le=date.max.toordinal())]

# Buttons show a period's span without the year up to this many days (within one year).
SPAN_WITHOUT_YEAR_DAYS = 62
# The digest times offered as buttons ("Своё время" takes any other).
DIGEST_EVENING_TIMES = ("20:00", "21:00", "22:00")
DIGEST_MORNING_TIME = "09:00"


class ReportAction(StrEnum):
    MENU = "menu"  # the section's menu
    DAY = "day"  # a day's totals
    PERIOD = "per"  # a period's totals
    PAYROLL = "pay"  # the masters' payroll
    EXPORT = "exp"  # the export choices
    ASK = "ask"  # type a day or a period


class ReportCb(CallbackData, prefix="rep"):
    action: ReportAction
    start: DayNo = 0  # first day
    end: DayNo = 0  # last day


class ReceiptsView(StrEnum):
    LIST = "l"
    PAY_TYPE = "pt"  # pick the payment type filter
    MASTER = "m"  # pick the master filter


class ReceiptsCb(CallbackData, prefix="rcl"):
    """The receipts list (or one of its filter pickers) with the list's whole state."""

    view: ReceiptsView = ReceiptsView.LIST
    start: DayNo = 0
    end: DayNo = 0
    pay_type: DbId = 0  # payment type id (0 = any)
    master: DbId = 0  # master's staff id (0 = any)
    refunds: bool = False  # refunds only
    page: DbId = 0


class ReceiptOpenCb(CallbackData, prefix="rco"):
    """Open a receipt from the list; carries the list's state for "back"."""

    id: DbId
    start: DayNo = 0
    end: DayNo = 0
    pay_type: DbId = 0
    master: DbId = 0
    refunds: bool = False
    page: DbId = 0


class ExportWhat(StrEnum):
    LINES = "l"  # every line of every receipt
    PAYROLL = "p"  # the masters' payroll


class ExportFormat(StrEnum):
    CSV = "c"
    XLSX = "x"


class ExportCb(CallbackData, prefix="rex"):
    what: ExportWhat
    fmt: ExportFormat
    start: DayNo = 0
    end: DayNo = 0


class ReportSettingsAction(StrEnum):
    MENU = "menu"
    MANAGERS = "mgr"  # toggle "managers see the totals"
    DIGEST = "dg"  # set the digest mode
    DIGEST_TIME = "dgt"  # type a digest time


class ReportSettingsCb(CallbackData, prefix="rst"):
    action: ReportSettingsAction
    mode: str = ""  # DIGEST: off | shift | HHMM (":" is the callback separator)

    @classmethod
    def digest(cls, mode: str) -> ReportSettingsCb:
        return cls(action=ReportSettingsAction.DIGEST, mode=mode.replace(":", ""))

    @property
    def digest_mode(self) -> str:
        """The mode as db.reports.settings spells it ("HH:MM" for a time)."""
        if len(self.mode) == 4 and self.mode.isdigit():
            return f"{self.mode[:2]}:{self.mode[2:]}"
        return self.mode


_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def period_of(start: int, end: int) -> Period | None:
    """The period a button carries, or None when forged or out of range."""
    try:
        first, last = date.fromordinal(start), date.fromordinal(end)
    except (ValueError, OverflowError):
        return None
    # Days near date.min/max have no UTC midnight in every zone: a forged button, not a period.
    return Period(first, last) if _FIRST_DAY <= first <= last <= _LAST_DAY else None


def report_cb(action: ReportAction, period: Period) -> ReportCb:
    return ReportCb(action=action, start=period.start.toordinal(), end=period.end.toordinal())


def export_cb(what: ExportWhat, fmt: ExportFormat, period: Period) -> ExportCb:
    return ExportCb(what=what, fmt=fmt, start=period.start.toordinal(),
                    end=period.end.toordinal())


def receipts_cb(period: Period) -> ReceiptsCb:
    return ReceiptsCb(start=period.start.toordinal(), end=period.end.toordinal())


def list_cb(state: ReceiptsCb | ReceiptOpenCb, **changes: Any) -> ReceiptsCb:
    """Back to the list (or a picker) with the same state, but `changes`."""
    data = {"view": ReceiptsView.LIST, "start": state.start, "end": state.end,
            "pay_type": state.pay_type, "master": state.master, "refunds": state.refunds,
            "page": state.page}
    return ReceiptsCb.model_validate({**data, **changes})


def open_cb(state: ReceiptsCb | ReceiptOpenCb, receipt_id: int) -> ReceiptOpenCb:
    """Open a receipt, keeping the list's state for "back"."""
    return ReceiptOpenCb(id=receipt_id, start=state.start, end=state.end,
                         pay_type=state.pay_type, master=state.master, refunds=state.refunds,
                         page=state.page)


def _day(day: date) -> Period:
    return Period(day, day)


def reports_menu(today: date, *, totals: bool) -> InlineKeyboardMarkup:
    """The section's buttons; managers without the owner's permission get the receipts only."""
    month = Period(today.replace(day=1), today)
    rows: list[list[InlineKeyboardButton]] = []
    if totals:
        last_month_end = month.start - timedelta(days=1)
        rows += [
            [button(_("📅 Сегодня"), report_cb(ReportAction.DAY, _day(today))),
             button(_("⬅️ Вчера"), report_cb(ReportAction.DAY,
                                               _day(today - timedelta(days=1))))],
            [button(_("🗓 Неделя"), report_cb(ReportAction.PERIOD, Period(
                today - timedelta(days=today.weekday()), today))),
             button(_("🗓 Месяц"), report_cb(ReportAction.PERIOD, month)),
             button(_("🗓 Прошлый месяц"), report_cb(ReportAction.PERIOD, Period(
                 last_month_end.replace(day=1), last_month_end)))],
            [button(_("✏️ Другой период"), report_cb(ReportAction.ASK, _day(today)))],
        ]
    rows.append([button(_("🧾 Чеки"), receipts_cb(_day(today)))])
    if totals:
        rows.append([button(_("💰 Зарплата мастеров"), report_cb(ReportAction.PAYROLL, month)),
                     button(_("📤 Выгрузка"), report_cb(ReportAction.EXPORT, month))])
    return markup(rows)


def _menu_button() -> InlineKeyboardButton:
    return button(_("← Отчеты"), ReportCb(action=ReportAction.MENU))


def day_keyboard(day: date, today: date) -> InlineKeyboardMarkup:
    one = timedelta(days=1)
    nav = [button("◀ " + (day - one).strftime("%d.%m"),
                  report_cb(ReportAction.DAY, _day(day - one)))]
    if day < today:
        nav.append(button((day + one).strftime("%d.%m") + " ▶",
                          report_cb(ReportAction.DAY, _day(day + one))))
    return markup([
        nav,
        [button(_("🧾 Чеки дня"), receipts_cb(_day(day))),
         button(_("💰 Зарплата"), report_cb(ReportAction.PAYROLL, _day(day)))],
        [button(_("📤 Выгрузка"), report_cb(ReportAction.EXPORT, _day(day))), _menu_button()],
    ])


def period_keyboard(period: Period, previous: Period, following: Period | None
                    ) -> InlineKeyboardMarkup:
    return markup([
        _nav(ReportAction.PERIOD, previous, following),
        [button(_("🧾 Чеки"), receipts_cb(period)),
         button(_("💰 Зарплата"), report_cb(ReportAction.PAYROLL, period))],
        [button(_("📄 CSV"), export_cb(ExportWhat.LINES, ExportFormat.CSV, period)),
         button(_("📊 XLSX"), export_cb(ExportWhat.LINES, ExportFormat.XLSX, period))],
        [_menu_button()],
    ])


def _nav(action: ReportAction, previous: Period, following: Period | None
         ) -> list[InlineKeyboardButton]:
    """◀ the period before · the period after ▶ (none after the current one)."""
    nav = [button("◀ " + _span(previous), report_cb(action, previous))]
    if following is not None:
        nav.append(button(_span(following) + " ▶", report_cb(action, following)))
    return nav


def _span(period: Period) -> str:
    if period.is_day:
        return period.start.strftime("%d.%m")
    if period.days > SPAN_WITHOUT_YEAR_DAYS or period.start.year != period.end.year:
        return f"{period.start:%d.%m.%y}–{period.end:%d.%m.%y}"
    return f"{period.start:%d.%m}–{period.end:%d.%m}"


def export_keyboard(period: Period) -> InlineKeyboardMarkup:
    lines, pay = ExportWhat.LINES, ExportWhat.PAYROLL
    csv, xlsx = ExportFormat.CSV, ExportFormat.XLSX
    return markup([
        [button(_("🧾 Чеки · CSV"), export_cb(lines, csv, period)),
         button(_("🧾 Чеки · XLSX"), export_cb(lines, xlsx, period))],
        [button(_("💰 Зарплата · CSV"), export_cb(pay, csv, period)),
         button(_("💰 Зарплата · XLSX"), export_cb(pay, xlsx, period))],
        [_menu_button()],
    ])


def payroll_keyboard(period: Period, previous: Period, following: Period | None
                     ) -> InlineKeyboardMarkup:
    return markup([
        _nav(ReportAction.PAYROLL, previous, following),
        [button(_("📄 CSV"), export_cb(ExportWhat.PAYROLL, ExportFormat.CSV, period)),
         button(_("📊 XLSX"), export_cb(ExportWhat.PAYROLL, ExportFormat.XLSX, period))],
        [button(_("📊 Отчёт за период"), report_cb(ReportAction.PERIOD, period)),
         _menu_button()],
    ])


@dataclass(frozen=True, slots=True)
class FilterTitles:
    """The receipts list's three filter buttons, showing what each is set to."""

    pay_type: str
    master: str
    refunds: str


def _pages_row(state: ReceiptsCb, pages: int) -> list[InlineKeyboardButton]:
    nav: list[InlineKeyboardButton] = []
    if state.page > 0:
        nav.append(button("◀", list_cb(state, page=state.page - 1)))
    if pages > 1:
        nav.append(button(f"{state.page + 1}/{pages}", list_cb(state)))
    if state.page + 1 < pages:
        nav.append(button("▶", list_cb(state, page=state.page + 1)))
    return nav


def _days_row(state: ReceiptsCb) -> list[InlineKeyboardButton]:
    """◀ the day before · the day after ▶, for a one-day list."""
    if state.start != state.end or not 1 < state.start < date.max.toordinal():
        return []
    day = date.fromordinal(state.start)
    before, after = state.start - 1, state.start + 1
    return [button("◀ " + (day - timedelta(days=1)).strftime("%d.%m"),
                   list_cb(state, start=before, end=before, page=0)),
            button((day + timedelta(days=1)).strftime("%d.%m") + " ▶",
                   list_cb(state, start=after, end=after, page=0))]


def receipts_keyboard(state: ReceiptsCb, items: Sequence[tuple[str, int]], pages: int, *,
                      back: bool, filters: FilterTitles) -> InlineKeyboardMarkup:
    """`items`: (button text, receipt id); `back`: to the report (who sees the totals) or to
    the section's menu."""
    rows = [[button(text, open_cb(state, receipt_id))] for text, receipt_id in items]
    rows += [
        _pages_row(state, pages),
        _days_row(state),
        [button(filters.pay_type, list_cb(state, view=ReceiptsView.PAY_TYPE)),
         button(filters.master, list_cb(state, view=ReceiptsView.MASTER))],
        [button(filters.refunds, list_cb(state, refunds=not state.refunds, page=0))],
    ]
    if back:
        action = ReportAction.DAY if state.start == state.end else ReportAction.PERIOD
        rows.append([button(_("← Отчёт"), ReportCb(action=action, start=state.start,
                                                    end=state.end))])
    else:
        rows.append([_menu_button()])
    return markup(rows)


def pick_keyboard(state: ReceiptsCb, options: Sequence[tuple[int, str]]
                  ) -> InlineKeyboardMarkup:
    """The choices of the filter `state.view` picks: (id, title); 0 = any."""
    field = "pay_type" if state.view == ReceiptsView.PAY_TYPE else "master"
    current = getattr(state, field)
    buttons = [button(("✓ " if current == value else "") + title,
                      list_cb(state, page=0, **{field: value})) for value, title in options]
    return markup([*chunked(buttons, 2), [button(_("← К списку"), list_cb(state))]])


def receipt_keyboard(state: ReceiptOpenCb, receipt_id: int, *, refundable: bool,
                     original_id: int | None) -> InlineKeyboardMarkup:
    first = []
    if refundable:
        first.append(button(_("↩️ Возврат"), RefundCb(action=RefundAction.START, id=receipt_id)))
    first.append(button(_("🧾 Чек"), ReceiptPrintCb(id=receipt_id)))
    rows = [first]
    if original_id is not None:
        rows.append([button(_("🧾 Исходный чек №{id}").format(id=original_id),
                            open_cb(state, original_id))])
    rows.append([button(_("← К списку"), list_cb(state))])
    return markup(rows)


def settings_keyboard(managers: bool, digest: str) -> InlineKeyboardMarkup:
    mark = "✅" if managers else "⬜️"
    modes = [(DIGEST_SHIFT, _("после закрытия смены")),
             *((time, time) for time in DIGEST_EVENING_TIMES),
             (DIGEST_MORNING_TIME, _("09:00 (за вчера)")), (DIGEST_OFF, _("выключена"))]
    digest_buttons = [button(("✓ " if digest == mode else "") + title,
                             ReportSettingsCb.digest(mode)) for mode, title in modes]
    return markup([
        [button(f"{mark} " + _("Менеджеры видят итоги и отчёты"),
                ReportSettingsCb(action=ReportSettingsAction.MANAGERS))],
        *chunked(digest_buttons, 2),
        [button(_("✏️ Своё время сводки"),
                ReportSettingsCb(action=ReportSettingsAction.DIGEST_TIME))],
        [button(_("← Настройки"), SettingsCb(action="menu"))],
    ])
