"""Owner reports (issue 6): /today, /report, the receipts list, payroll, exports, settings.

Who sees what (checked on every message and callback by router filters):
- owner: everything;
- manager: the receipts list always (refunds and reprints are their job); the totals
  (/today, /report, payroll, exports) when the owner allows it in ⚙️ Настройки → 📊 Отчёты;
- master: "no access".
The daily digest itself is a scheduler job (scheduler/digest.py).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import date
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.exports import filename, lines_csv, lines_xlsx, payroll_csv, payroll_xlsx
from bot.views.formatting import h, money
from db.base import utcnow
from db.desk.models import Role, Staff
from db.desk.staff import get_staff, list_staff
from db.errors import DomainError, InvalidValue
from db.money.payment_types import list_payment_types
from db.reports.periods import (
    MAX_DAYS,
    BadPeriod,
    Period,
    adjacent,
    parse_day,
    parse_period,
    period_range,
)
from db.reports.queries import (
    ReceiptFilter,
    day_report,
    list_receipts,
    payroll,
    period_report,
    receipt_detail,
    receipt_lines,
    today_in,
)
from db.reports.settings import (
    DIGEST_OFF,
    DIGEST_SHIFT,
    can_see_totals,
    get_report_settings,
    set_digest,
    set_managers_see_totals,
)
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.reports.error_texts import bad_period_text
from handlers.reports.render import (
    period_title,
    receipt_button,
    render_day,
    render_payroll,
    render_period,
    render_receipt,
    render_receipts_head,
)
from handlers.ui import callback_message, edit_or_send
from keyboards.menu import REPORTS
from keyboards.reports import (
    ExportCb,
    ReceiptOpenCb,
    ReceiptsCb,
    ReportCb,
    ReportSettingsCb,
    day_keyboard,
    export_keyboard,
    list_cb,
    payroll_keyboard,
    period_keyboard,
    period_of,
    pick_keyboard,
    receipt_keyboard,
    receipts_keyboard,
    reports_menu,
    settings_keyboard,
)

PAGE_SIZE = 8
# XLSX exports get a sheet with a line per day up to this many days, per month beyond.
XLSX_DAY_LINES_MAX = 92


class ReportForm(StatesGroup):
    period = State()
    digest_time = State()


class SeesTotals(Filter):
    """Owners, and managers when the owner allowed them the totals."""

    async def __call__(self, event: TelegramObject, staff: Staff | None = None,
                       session: AsyncSession | None = None, **_: Any) -> bool:
        if staff is None or session is None:
            return False
        return await can_see_totals(session, staff)


# ---- texts shared with other features (registered at import) --------------------------------

def period_examples() -> str:
    return _("Примеры: /report 01.11 15.11, /report 01.11.2026 30.11.2026, /report 2026-11-20, "
             "/report неделя, /report месяц, /report прошлый месяц, /report год.")


def day_examples() -> str:
    return _("Примеры: /today 20.11, /today 20.11.2026, /today 2026-11-20, /today вчера, "
             "/today позавчера.")





def digest_time_hint() -> str:
    return _("Время — ЧЧ:ММ, например 21:30. Отмена — /cancel.")


def no_totals_text() -> str:
    return _("⛔ Итоги и отчёты видит владелец. Он может открыть их менеджерам: "
             "⚙️ Настройки → 📊 Отчёты и сводка.")


def masters_refused_text() -> str:
    return _("⛔ Нет доступа: отчёты видят владелец и менеджеры.")


# ---- the routers -------------------------------------------------------------------------

def setup(settings: Settings) -> Router:
    tz = settings.tz
    root = Router(name="reports")
    totals = Router(name="reports.totals")
    totals.message.filter(IsStaff(Role.OWNER, Role.MANAGER), SeesTotals())
    totals.callback_query.filter(IsStaff(Role.OWNER, Role.MANAGER), SeesTotals())
    desk = Router(name="reports.desk")
    desk.message.filter(IsStaff(Role.OWNER, Role.MANAGER))
    desk.callback_query.filter(IsStaff(Role.OWNER, Role.MANAGER))
    masters = Router(name="reports.masters")
    masters.message.filter(IsStaff(Role.MASTER))
    masters.callback_query.filter(IsStaff(Role.MASTER))
    root.include_routers(totals, desk, masters)

    def today() -> date:
        return today_in(tz)

    # ---- views -------------------------------------------------------------------------
    async def show_menu(target: Message | CallbackQuery, session: AsyncSession,
                        staff: Staff) -> None:
        allowed = await can_see_totals(session, staff)
        text = _("📊 <b>Отчеты</b>")
        if allowed:
            text += "\n" + _("Итоги дня, периоды, чеки, зарплата мастеров и выгрузка в "
                             "CSV/XLSX. Быстро: /today, /today вчера, /report 01.11 15.11.")
        else:
            text += "\n" + _("Чеки: поиск, возвраты, печать.")
        await edit_or_send(target, text, reports_menu(today(), totals=allowed))

    async def show_day(target: Message | CallbackQuery, session: AsyncSession, day: date,
                       lang: str) -> None:
        now = utcnow()
        report = await day_report(session, day, tz, now=now)
        await edit_or_send(target, render_day(report, lang, tz, now), day_keyboard(day, today()))

    async def show_period(target: Message | CallbackQuery, session: AsyncSession,
                          period: Period, lang: str) -> None:
        if period.is_day:
            await show_day(target, session, period.start, lang)
            return
        report = await period_report(session, period, tz)
        previous, following = adjacent(period, today())
        await edit_or_send(target, render_period(report, lang, tz),
                           period_keyboard(period, previous, following))

    async def show_payroll(target: Message | CallbackQuery, session: AsyncSession,
                           period: Period, lang: str) -> None:
        result = await payroll(session, period, tz)
        previous, following = adjacent(period, today())
        await edit_or_send(target, render_payroll(result, lang),
                           payroll_keyboard(period, previous, following))

    # ---- totals: /today, /report and their buttons ---------------------------------------
    @totals.message(Command("today"))
    async def today_command(message: Message, command: CommandObject, session: AsyncSession,
                            state: FSMContext, lang: str) -> None:
        await state.clear()
        args = (command.args or "").strip()
        try:
            day = parse_day(args, today()) if args else today()
        except BadPeriod as exc:
            await message.answer(bad_period_text(exc) + "\n" + day_examples())
            return
        await show_day(message, session, day, lang)

    @totals.message(Command("report"))
    async def report_command(message: Message, command: CommandObject, session: AsyncSession,
                             state: FSMContext, staff: Staff, lang: str) -> None:
        await state.clear()
        args = (command.args or "").strip()
        if not args:
            await show_menu(message, session, staff)
            return
        try:
            period = parse_period(args, today())
        except BadPeriod as exc:
            await message.answer(bad_period_text(exc) + "\n" + period_examples())
            return
        await show_period(message, session, period, lang)

    def _period(data: ReportCb | ExportCb | ReceiptsCb) -> Period | None:
        """The period a button carries; None when forged or too long."""
        period = period_of(data.a, data.b)
        if period is None or period.days > MAX_DAYS:
            return None
        return period

    @totals.callback_query(ReportCb.filter(F.action.in_({"day", "per", "pay", "exp"})))
    async def report_cb(query: CallbackQuery, callback_data: ReportCb, session: AsyncSession,
                        lang: str) -> None:
        period = _period(callback_data)
        if period is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        if callback_data.action == "day":
            await show_day(query, session, period.start, lang)
        elif callback_data.action == "per":
            await show_period(query, session, period, lang)
        elif callback_data.action == "pay":
            await show_payroll(query, session, period, lang)
        else:
            await edit_or_send(query, _("📤 <b>Выгрузка: {period}</b>\nЧеки — каждая строка "
                                        "каждого чека; зарплата — по мастерам.").format(
                period=period_title(period, lang)), export_keyboard(period))
        await query.answer()

    @totals.callback_query(ReportCb.filter(F.action == "ask"))
    async def ask_period(query: CallbackQuery, state: FSMContext) -> None:
        await state.set_state(ReportForm.period)
        if (message := callback_message(query)) is not None:
            await message.answer(_("Напишите день или период: 20.11 · 01.11 15.11 · "
                                   "01.11.2026 30.11.2026 · неделя · месяц · прошлый месяц · "
                                   "год. Отмена — /cancel."))
        await query.answer()

    @totals.message(ReportForm.period, F.text, NotCommand())
    async def period_typed(message: Message, session: AsyncSession, state: FSMContext,
                           lang: str) -> None:
        try:
            period = parse_period(message.text, today())
        except BadPeriod as exc:
            await message.answer(bad_period_text(exc) + "\n" + _("Попробуйте ещё раз или "
                                                                 "/cancel."))
            return
        await state.clear()
        await show_period(message, session, period, lang)

    @totals.message(ReportForm.period, NotCommand())
    async def period_wrong(message: Message) -> None:
        await message.answer(_("Нужны даты текстом, например: 01.11 15.11 или «прошлый "
                               "месяц». Отмена — /cancel."))

    @totals.callback_query(ExportCb.filter())
    async def export_cb(query: CallbackQuery, callback_data: ExportCb, session: AsyncSession,
                        lang: str, i18n: I18n, after_commit: list[Any]) -> None:
        """Rows are read in the update's transaction; the file is built and uploaded after
        the commit, so a year's export never holds the database (SQLite's write lock) while
        openpyxl works and Telegram receives the file."""
        period = _period(callback_data)
        message = callback_message(query)
        if period is None or callback_data.what not in ("l", "p") or \
                callback_data.fmt not in ("c", "x"):
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        if message is None:
            await query.answer()
            return
        lo, hi = period_range(period, tz)
        ext = "csv" if callback_data.fmt == "c" else "xlsx"
        build: Callable[[], bytes]
        if callback_data.what == "l":
            lines = await receipt_lines(session, lo, hi, lang)
            if not lines:
                await query.answer(_("За этот период чеков нет."), show_alert=True)
                return
            unit = "day" if period.days <= XLSX_DAY_LINES_MAX else "month"
            report = await period_report(session, period, tz, unit=unit if ext == "xlsx" else "")
            t = report.total
            caption = _("🧾 Чеки за {period}: {receipts} чек., {lines} строк, итого {sum}").format(
                period=period_title(period, lang), receipts=t.sales_count + t.refunds_count,
                lines=len(lines), sum=money(t.revenue, lang))
            name = filename("receipts", period.start, period.end, ext)
            build = ((lambda: lines_csv(lines, tz)) if ext == "csv"
                     else (lambda: lines_xlsx(lines, report, tz, lang)))
        else:
            result = await payroll(session, period, tz, with_tickets=ext == "xlsx")
            if not result.masters:
                await query.answer(_("За этот период нет выданных обращений."), show_alert=True)
                return
            caption = _("💰 Зарплата мастеров за {period}: итого {sum}").format(
                period=period_title(period, lang), sum=money(result.total, lang))
            name = filename("payroll", period.start, period.end, ext)
            build = ((lambda: payroll_csv(result)) if ext == "csv"
                     else (lambda: payroll_xlsx(result, tz)))

        async def send() -> None:
            with i18n.context(), i18n.use_locale(lang):
                data = await asyncio.to_thread(build)
                await message.answer_document(BufferedInputFile(data, filename=name),
                                              caption=caption)

        after_commit.append(send)
        await query.answer(_("Готовлю файл…"))

    # ---- the section (owners and managers) ------------------------------------------------
    @desk.message(TextIs(REPORTS))
    async def section(message: Message, session: AsyncSession, state: FSMContext,
                      staff: Staff) -> None:
        await state.clear()
        await show_menu(message, session, staff)

    @desk.callback_query(ReportCb.filter(F.action == "menu"))
    async def menu_cb(query: CallbackQuery, session: AsyncSession, staff: Staff) -> None:
        await show_menu(query, session, staff)
        await query.answer()

    # managers without the owner's permission
    @desk.message(Command("today", "report"))
    async def totals_refused(message: Message) -> None:
        await message.answer(no_totals_text())

    @desk.callback_query(ReportCb.filter())
    @desk.callback_query(ExportCb.filter())
    async def totals_refused_cb(query: CallbackQuery) -> None:
        await query.answer(no_totals_text(), show_alert=True)

    # ---- receipts list ----------------------------------------------------------------------
    async def filter_names(session: AsyncSession, state: ReceiptsCb, lang: str
                           ) -> tuple[list[str], tuple[str, str, str]]:
        active: list[str] = []
        pay_title = _("💳 Оплата: все")
        master_title = _("👤 Мастер: все")
        if state.pt:
            types = {t.id: t for t in await list_payment_types(session, active_only=False)}
            if state.pt in types:
                name = types[state.pt].title(lang)
                active.append(f"💳 {h(name)}")
                pay_title = f"💳 {name}"
        if state.m:
            try:
                person = await get_staff(session, state.m)
            except DomainError:
                person = None
            if person is not None:
                active.append(f"👤 {h(person.name)}")
                master_title = f"👤 {person.name}"
        if state.r:
            active.append(_("только возвраты"))
        refunds_title = (_("↩️ Только возвраты ✓") if state.r else _("↩️ Только возвраты"))
        return active, (pay_title, master_title, refunds_title)

    async def show_receipts(query: CallbackQuery, session: AsyncSession, state: ReceiptsCb,
                            staff: Staff, lang: str) -> None:
        period = _period(state)
        if period is None or state.p < 0:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        lo, hi = period_range(period, tz)
        flt = ReceiptFilter(payment_type_id=state.pt, master_id=state.m, refunds_only=bool(state.r))
        rows, count = await list_receipts(session, lo, hi, flt, offset=state.p * PAGE_SIZE,
                                          limit=PAGE_SIZE)
        pages = max(1, math.ceil(count / PAGE_SIZE))
        if state.p >= pages:  # the list shrank (or a forged page): show the last one
            state = list_cb(state, p=pages - 1)
            rows, count = await list_receipts(session, lo, hi, flt,
                                              offset=state.p * PAGE_SIZE, limit=PAGE_SIZE)
        active, titles = await filter_names(session, state, lang)
        items = [(receipt_button(row, tz, lang, with_date=not period.is_day), row.id)
                 for row in rows]
        back = await can_see_totals(session, staff)
        await edit_or_send(query, render_receipts_head(period, count, lang, active),
                           receipts_keyboard(state, items, pages, back=back, filters=titles))
        await query.answer()

    @desk.callback_query(ReceiptsCb.filter(F.v == "l"))
    async def receipts_cb(query: CallbackQuery, callback_data: ReceiptsCb,
                          session: AsyncSession, staff: Staff, lang: str) -> None:
        await show_receipts(query, session, callback_data, staff, lang)

    @desk.callback_query(ReceiptsCb.filter(F.v == "pt"))
    async def pick_type(query: CallbackQuery, callback_data: ReceiptsCb,
                        session: AsyncSession, lang: str) -> None:
        types = await list_payment_types(session, active_only=False)
        options = [(0, _("Все")), *((t.id, t.title(lang)) for t in types)]
        await edit_or_send(query, _("💳 Чеки с какой оплатой показать?"),
                           pick_keyboard(callback_data, "pt", options))
        await query.answer()

    @desk.callback_query(ReceiptsCb.filter(F.v == "m"))
    async def pick_master(query: CallbackQuery, callback_data: ReceiptsCb,
                          session: AsyncSession) -> None:
        people = await list_staff(session)
        options = [(0, _("Все")), *((p.id, p.name + ("" if p.active else " ⛔"))
                                    for p in people[:30])]
        await edit_or_send(query, _("👤 Чеки обращений какого мастера показать?"),
                           pick_keyboard(callback_data, "m", options))
        await query.answer()

    @desk.callback_query(ReceiptOpenCb.filter())
    async def open_receipt(query: CallbackQuery, callback_data: ReceiptOpenCb,
                           session: AsyncSession, lang: str) -> None:
        detail = await receipt_detail(session, callback_data.id)
        original = detail.receipt.related_receipt_id
        await edit_or_send(query, render_receipt(detail, lang, tz),
                           receipt_keyboard(callback_data, detail.receipt.id,
                                            refundable=detail.refundable,
                                            original_id=original))
        await query.answer()

    # ---- settings (owner) ----------------------------------------------------------------------
    async def show_settings(target: Message | CallbackQuery, session: AsyncSession) -> None:
        current = await get_report_settings(session)
        if current.digest == DIGEST_OFF:
            digest = _("выключена")
        elif current.digest == DIGEST_SHIFT:
            digest = _("после закрытия кассовой смены")
        else:
            digest = _("каждый день в {time}").format(time=current.digest)
        text = "\n".join([
            _("📊 <b>Отчёты и сводка</b>"),
            _("Менеджеры видят итоги и отчёты: {value}").format(
                value=_("да") if current.managers else _("нет")),
            _("Ежедневная сводка владельцам: {value}").format(value=digest),
            _("Сводка — итоги дня и график выручки и обращений за 14 дней. Время до 12:00 — "
              "сводка за вчерашний день."),
        ])
        await edit_or_send(target, text, settings_keyboard(current.managers, current.digest))

    @desk.callback_query(ReportSettingsCb.filter(F.action == "menu"), IsStaff(Role.OWNER))
    async def settings_cb(query: CallbackQuery, session: AsyncSession) -> None:
        await show_settings(query, session)
        await query.answer()

    @desk.callback_query(ReportSettingsCb.filter(F.action == "mgr"), IsStaff(Role.OWNER))
    async def managers_cb(query: CallbackQuery, session: AsyncSession, staff: Staff) -> None:
        current = await get_report_settings(session)
        await set_managers_see_totals(session, staff, not current.managers)
        await show_settings(query, session)
        await query.answer(_("Сохранено."))

    @desk.callback_query(ReportSettingsCb.filter(F.action == "dg"), IsStaff(Role.OWNER))
    async def digest_cb(query: CallbackQuery, callback_data: ReportSettingsCb,
                        session: AsyncSession, staff: Staff) -> None:
        arg = callback_data.arg
        if len(arg) == 4 and arg.isdigit():
            arg = f"{arg[:2]}:{arg[2:]}"
        try:
            await set_digest(session, staff, arg)
        except InvalidValue:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        await show_settings(query, session)
        await query.answer(_("Сохранено."))

    @desk.callback_query(ReportSettingsCb.filter(F.action == "dgt"), IsStaff(Role.OWNER))
    async def digest_time_ask(query: CallbackQuery, state: FSMContext) -> None:
        await state.set_state(ReportForm.digest_time)
        if (message := callback_message(query)) is not None:
            await message.answer(_("Во сколько присылать сводку? Время ЧЧ:ММ, например 21:30 "
                                   "(до 12:00 — сводка за вчерашний день). Отмена — /cancel."))
        await query.answer()

    @desk.message(ReportForm.digest_time, F.text, NotCommand(), IsStaff(Role.OWNER))
    async def digest_time_typed(message: Message, session: AsyncSession, state: FSMContext,
                                staff: Staff) -> None:
        try:
            await set_digest(session, staff, message.text.replace(".", ":").strip())
        except InvalidValue:
            await message.answer(digest_time_hint())
            return
        await state.clear()
        await show_settings(message, session)

    @desk.message(ReportForm.digest_time, NotCommand())
    async def digest_time_wrong(message: Message) -> None:
        await message.answer(digest_time_hint())

    @desk.callback_query(ReportSettingsCb.filter())
    async def settings_refused(query: CallbackQuery) -> None:
        await query.answer(_("Нет доступа."), show_alert=True)

    # ---- masters ---------------------------------------------------------------------------------
    @masters.message(Command("today", "report"))
    @masters.message(TextIs(REPORTS))
    async def masters_refused(message: Message) -> None:
        await message.answer(masters_refused_text())

    @masters.callback_query(ReportCb.filter())
    @masters.callback_query(ReceiptsCb.filter())
    @masters.callback_query(ReceiptOpenCb.filter())
    @masters.callback_query(ExportCb.filter())
    @masters.callback_query(ReportSettingsCb.filter())
    async def masters_refused_cb(query: CallbackQuery) -> None:
        await query.answer(masters_refused_text(), show_alert=True)

    return root


__all__ = ["ReportForm", "SeesTotals", "bad_period_text", "setup"]
