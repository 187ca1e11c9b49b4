"""Reports (issue 6): the "📊 Отчеты" section, callback factories and inline keyboards.

Days travel in callbacks as `date.toordinal()` (6 digits), so every payload stays far below
64 bytes; handlers re-check access and existence because callback data can be forged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from db.reports.periods import Period
from keyboards.callbacks import ReceiptPrintCb, RefundAction, RefundCb, SettingsCb
from keyboards.common import button, chunked, markup


class ReportCb(CallbackData, prefix="rep"):
    action: str  # menu, day, per (period), pay (payroll), exp (export menu), ask (type a period)
    a: int = 0  # first day, date ordinal
    b: int = 0  # last day, date ordinal


class ReceiptsCb(CallbackData, prefix="rcl"):
    v: str = "l"  # l: list, pt: pick a payment type, m: pick a master
    a: int = 0
    b: int = 0
    pt: int = 0  # payment type id filter (0 = any)
    m: int = 0  # master id filter (0 = any)
    r: int = 0  # 1 = refunds only
    p: int = 0  # page


class ReceiptOpenCb(CallbackData, prefix="rco"):
    """Open a receipt from the list; carries the list's state for "back"."""

    id: int
    a: int = 0
    b: int = 0
    pt: int = 0
    m: int = 0
    r: int = 0
    p: int = 0


class ExportCb(CallbackData, prefix="rex"):
    what: str  # l: receipt lines, p: payroll
    fmt: str  # c: CSV, x: XLSX
    a: int = 0
    b: int = 0


class ReportSettingsCb(CallbackData, prefix="rst"):
    action: str  # menu, mgr (toggle managers), dg (digest mode)
    arg: str = ""  # for dg: off | shift | HHMM (":" is the callback separator)


def ordinals(period: Period) -> tuple[int, int]:
    return period.start.toordinal(), period.end.toordinal()


def period_of(a: int, b: int) -> Period | None:
    """The period a callback carries, or None when forged or out of range."""
    try:
        start, end = date.fromordinal(a), date.fromordinal(b)
    except (ValueError, OverflowError):
        return None
    return Period(start, end) if start <= end else None


def list_cb(state: ReceiptsCb | ReceiptOpenCb, **changes: object) -> ReceiptsCb:
    data = {"a": state.a, "b": state.b, "pt": state.pt, "m": state.m, "r": state.r,
            "p": state.p, "v": "l"}
    data.update(changes)
    return ReceiptsCb(**data)  # type: ignore[arg-type]


def open_cb(state: ReceiptsCb | ReceiptOpenCb, receipt_id: int) -> ReceiptOpenCb:
    """Open a receipt, keeping the list's state for "back"."""
    return ReceiptOpenCb(id=receipt_id, a=state.a, b=state.b, pt=state.pt, m=state.m,
                         r=state.r, p=state.p)


def reports_menu(today: date, *, totals: bool) -> InlineKeyboardMarkup:
    """The section's buttons; managers without the owner's permission get the receipts only."""
    t = today.toordinal()
    rows: list[list[InlineKeyboardButton]] = []
    if totals:
        rows.append([button(_("📅 Сегодня"), ReportCb(action="day", a=t, b=t)),
                     button(_("⬅️ Вчера"), ReportCb(action="day", a=t - 1, b=t - 1))])
        week = t - today.weekday()
        month = today.replace(day=1).toordinal()
        last_month_end = month - 1
        last_month = date.fromordinal(last_month_end).replace(day=1).toordinal()
        rows.append([button(_("🗓 Неделя"), ReportCb(action="per", a=week, b=t)),
                     button(_("🗓 Месяц"), ReportCb(action="per", a=month, b=t)),
                     button(_("🗓 Прошлый месяц"),
                            ReportCb(action="per", a=last_month, b=last_month_end))])
        rows.append([button(_("✏️ Другой период"), ReportCb(action="ask", a=t, b=t))])
    rows.append([button(_("🧾 Чеки"), ReceiptsCb(a=t, b=t))])
    if totals:
        rows.append([button(_("💰 Зарплата мастеров"), ReportCb(action="pay", a=month, b=t)),
                     button(_("📤 Выгрузка"), ReportCb(action="exp", a=month, b=t))])
    return markup(rows)


def day_keyboard(day: date, today: date) -> InlineKeyboardMarkup:
    d = day.toordinal()
    nav = [button("◀ " + date.fromordinal(d - 1).strftime("%d.%m"),
                  ReportCb(action="day", a=d - 1, b=d - 1))]
    if day < today:
        nav.append(button(date.fromordinal(d + 1).strftime("%d.%m") + " ▶",
                          ReportCb(action="day", a=d + 1, b=d + 1)))
    return markup([
        nav,
        [button(_("🧾 Чеки дня"), ReceiptsCb(a=d, b=d)),
         button(_("💰 Зарплата"), ReportCb(action="pay", a=d, b=d))],
        [button(_("📤 Выгрузка"), ReportCb(action="exp", a=d, b=d)),
         button(_("← Отчеты"), ReportCb(action="menu"))],
    ])


def period_keyboard(period: Period, previous: Period, following: Period | None
                    ) -> InlineKeyboardMarkup:
    a, b = ordinals(period)
    return markup([
        _nav("per", previous, following),
        [button(_("🧾 Чеки"), ReceiptsCb(a=a, b=b)),
         button(_("💰 Зарплата"), ReportCb(action="pay", a=a, b=b))],
        [button(_("📄 CSV"), ExportCb(what="l", fmt="c", a=a, b=b)),
         button(_("📊 XLSX"), ExportCb(what="l", fmt="x", a=a, b=b))],
        [button(_("← Отчеты"), ReportCb(action="menu"))],
    ])


def _nav(action: str, previous: Period, following: Period | None
         ) -> list[InlineKeyboardButton]:
    """◀ the period before · the period after ▶ (none after the current one)."""
    nav = [button("◀ " + _span(previous), ReportCb(action=action, a=previous.start.toordinal(),
                                                    b=previous.end.toordinal()))]
    if following is not None:
        nav.append(button(_span(following) + " ▶", ReportCb(
            action=action, a=following.start.toordinal(), b=following.end.toordinal())))
    return nav


def _span(period: Period) -> str:
    if period.is_day:
        return period.start.strftime("%d.%m")
    if period.days > 62 or period.start.year != period.end.year:
        return f"{period.start:%d.%m.%y}–{period.end:%d.%m.%y}"
    return f"{period.start:%d.%m}–{period.end:%d.%m}"


def export_keyboard(period: Period) -> InlineKeyboardMarkup:
    a, b = ordinals(period)
    return markup([
        [button(_("🧾 Чеки · CSV"), ExportCb(what="l", fmt="c", a=a, b=b)),
         button(_("🧾 Чеки · XLSX"), ExportCb(what="l", fmt="x", a=a, b=b))],
        [button(_("💰 Зарплата · CSV"), ExportCb(what="p", fmt="c", a=a, b=b)),
         button(_("💰 Зарплата · XLSX"), ExportCb(what="p", fmt="x", a=a, b=b))],
        [button(_("← Отчеты"), ReportCb(action="menu"))],
    ])


def payroll_keyboard(period: Period, previous: Period, following: Period | None
                     ) -> InlineKeyboardMarkup:
    a, b = ordinals(period)
    return markup([
        _nav("pay", previous, following),
        [button(_("📄 CSV"), ExportCb(what="p", fmt="c", a=a, b=b)),
         button(_("📊 XLSX"), ExportCb(what="p", fmt="x", a=a, b=b))],
        [button(_("📊 Отчёт за период"), ReportCb(action="per", a=a, b=b)),
         button(_("← Отчеты"), ReportCb(action="menu"))],
    ])


def receipts_keyboard(
    state: ReceiptsCb, items: Sequence[tuple[str, int]], pages: int, *, back: bool,
    filters: tuple[str, str, str],
) -> InlineKeyboardMarkup:
    """`items`: (button text, receipt id); `filters`: the three filter buttons' texts."""
    rows = [[button(text, open_cb(state, receipt_id))] for text, receipt_id in items]
    nav: list[InlineKeyboardButton] = []
    if state.p > 0:
        nav.append(button("◀", list_cb(state, p=state.p - 1)))
    if pages > 1:
        nav.append(button(f"{state.p + 1}/{pages}", list_cb(state)))
    if state.p + 1 < pages:
        nav.append(button("▶", list_cb(state, p=state.p + 1)))
    rows.append(nav)
    if state.a == state.b:
        rows.append([button("◀ " + date.fromordinal(state.a - 1).strftime("%d.%m"),
                            list_cb(state, a=state.a - 1, b=state.b - 1, p=0)),
                     button(date.fromordinal(state.a + 1).strftime("%d.%m") + " ▶",
                            list_cb(state, a=state.a + 1, b=state.b + 1, p=0))])
    rows.append([button(filters[0], list_cb(state, v="pt")),
                 button(filters[1], list_cb(state, v="m"))])
    rows.append([button(filters[2], list_cb(state, r=0 if state.r else 1, p=0))])
    if back:
        action = "day" if state.a == state.b else "per"
        rows.append([button(_("← Отчёт"), ReportCb(action=action, a=state.a, b=state.b))])
    else:
        rows.append([button(_("← Отчеты"), ReportCb(action="menu"))])
    return markup(rows)


def pick_keyboard(state: ReceiptsCb, field: str, options: Sequence[tuple[int, str]]
                  ) -> InlineKeyboardMarkup:
    """A filter's choices: (id, title); 0 = any."""
    current = state.pt if field == "pt" else state.m
    buttons = [button(("✓ " if current == value else "") + title,
                      list_cb(state, p=0, **{field: value})) for value, title in options]
    return markup([*chunked(buttons, 2), [button(_("← К списку"), list_cb(state))]])


def receipt_keyboard(state: ReceiptOpenCb, receipt_id: int, *, refundable: bool,
                     original_id: int | None) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    first = []
    if refundable:
        first.append(button(_("↩️ Возврат"), RefundCb(action=RefundAction.START, id=receipt_id)))
    first.append(button(_("🧾 Чек"), ReceiptPrintCb(id=receipt_id)))
    rows.append(first)
    if original_id is not None:
        rows.append([button(_("🧾 Исходный чек №{id}").format(id=original_id),
                            open_cb(state, original_id))])
    rows.append([button(_("← К списку"), list_cb(state))])
    return markup(rows)


def settings_keyboard(managers: bool, digest: str) -> InlineKeyboardMarkup:
    mark = "✅" if managers else "⬜️"
    modes = [("shift", _("после закрытия смены")), ("20:00", "20:00"), ("21:00", "21:00"),
             ("22:00", "22:00"), ("09:00", _("09:00 (за вчера)")), ("off", _("выключена"))]
    digest_buttons = [button(("✓ " if digest == value else "") + title,
                             ReportSettingsCb(action="dg", arg=value.replace(":", "")))
                      for value, title in modes]
    return markup([
        [button(f"{mark} " + _("Менеджеры видят итоги и отчёты"),
                ReportSettingsCb(action="mgr"))],
        *chunked(digest_buttons, 2),
        [button(_("✏️ Своё время сводки"), ReportSettingsCb(action="dgt"))],
        [button(_("← Настройки"), SettingsCb(action="menu"))],
    ])
