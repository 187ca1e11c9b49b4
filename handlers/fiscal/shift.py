"""/shift: the cash shift with its totals, opening it by hand, the X-report and closing it with
a Z-report (owner and manager; db/money/shifts checks the role again).

Thin: whatever talks to the PRRO runs after the update's commit (`after_commit`), through the
fiscal runtime the scheduler uses too, so no database transaction waits for Checkbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services import Services
from bot.unit_of_work import AfterCommit
from bot.usecases.shift_close import close_due_at
from bot.views import fiscal_texts as ft
from bot.views.formatting import clip, local_dt
from bot.workers.fiscal_runtime import FiscalRuntime
from db.base import utcnow
from db.desk.models import Staff
from db.engine import DbSession
from db.fiscal import queue
from db.money.errors import NoOpenShift, ShiftAlreadyOpen
from db.money.models import Shift
from db.money.shifts import current_shift, open_shift, shift_is_stale, shift_totals, x_report
from db.money.visibility import can_see_cash
from fiscal import FiscalError, FiscalProvider, FiscalShiftNotOpen
from handlers.filters import IsStaff
from handlers.ui import edit_and_answer, edit_or_send
from keyboards.fiscal import ShiftAction, ShiftCb, close_confirm_markup, shift_markup

Job = Callable[[], Awaitable[None]]


# ---- the /shift screen --------------------------------------------------------------------

async def closed_lines(session: DbSession, lang: str, settings: Settings) -> list[str]:
    lines = [_("🧾 <b>Кассовая смена не открыта</b>")]
    last = await queue.last_closed_shift(session)
    if last is not None and last.closed_at is not None:
        lines.append(_("Последняя: №{number}, закрыта {date}").format(
            number=last.number, date=local_dt(last.closed_at, settings.tz, lang)))
    lines.append(_("Смена откроется сама с первой оплатой."))
    return lines


async def open_lines(session: DbSession, staff: Staff, shift: Shift, lang: str,
                     settings: Settings, now: datetime) -> list[str]:
    lines = [_("🧾 <b>Кассовая смена №{number}</b> — открыта").format(number=shift.number),
             _("Открыта {date} ({age} назад)").format(
                 date=local_dt(shift.opened_at, settings.tz, lang),
                 age=ft.duration(now - shift.opened_at)),
             ""]
    if await can_see_cash(session, staff):
        lines.extend(ft.money_lines(await shift_totals(session, staff, shift.id), lang))
    else:  # the owner hid the cash from masters (db.money.visibility)
        lines.append(_("Итоги смены видят владелец и менеджеры."))
    overdue = now >= close_due_at(shift.opened_at, settings.autoclose_time, settings.tz)
    warning = ft.shift_age_warning(shift.opened_at, now, stale=shift_is_stale(shift, now),
                                   overdue=overdue)
    if warning:
        lines.extend(["", warning])
    return lines


async def shift_card(session: DbSession, staff: Staff, lang: str, settings: Settings,
                     services: Services) -> tuple[str, InlineKeyboardMarkup]:
    """The open shift with its totals so far, or the last closed one."""
    shift = await current_shift(session)
    backlog = await queue.backlog(session)
    if shift is None:
        lines = await closed_lines(session, lang, settings)
    else:
        lines = await open_lines(session, staff, shift, lang, settings, utcnow())
    lines.append("")
    if services.fiscal_enabled:
        lines.append(_("ПРРО Checkbox: в очереди {pending}, с ошибкой {errors}.").format(
            pending=backlog.pending, errors=backlog.errors))
    else:
        lines.append(_("Чеки внутренние (ПРРО не подключён)."))
    if settings.autoclose_time is not None:
        lines.append(_("Автозакрытие смены в {time}.").format(time=settings.shift_autoclose_at))
    else:
        lines.append(_("Автозакрытие выключено: закрывайте смену здесь."))
    keyboard = shift_markup(can_manage=staff.is_manager_or_owner, is_open=shift is not None,
                            shift_id=shift.id if shift else 0, errors=backlog.errors)
    return "\n".join(lines), keyboard


# ---- after the commit: the PRRO -------------------------------------------------------------

async def in_locale(i18n: I18n, lang: str, job: Job) -> None:
    """after_commit jobs run outside the update's i18n context: give them the reader's."""
    with i18n.context(), i18n.use_locale(lang):
        await job()


def after(after_commit: list[AfterCommit], i18n: I18n, lang: str, job: Job) -> None:
    after_commit.append(partial(in_locale, i18n, lang, job))


async def open_prro_shift(fiscal: FiscalProvider, bot: Bot, chat_id: int) -> None:
    try:
        fiscal_shift = await fiscal.open_shift()
        text = _("Смена в ПРРО открыта (№{serial}).").format(serial=fiscal_shift.serial or "—")
    except FiscalError as exc:
        text = _("Смену в ПРРО открыть не удалось: {error}\nОна откроется сама "
                 "перед первым фискальным чеком.").format(error=exc.message)
    await bot.send_message(chat_id, text)


async def prro_x_report(fiscal: FiscalProvider, bot: Bot, chat_id: int, lang: str) -> None:
    try:
        text = "\n".join(ft.fiscal_report_lines(await fiscal.x_report(), lang))
    except FiscalShiftNotOpen:
        text = _("В ПРРО смена ещё не открыта: фискальных чеков в этой смене не было.")
    except FiscalError as exc:
        text = _("X-отчёт ПРРО получить не удалось: {error}").format(error=exc.message)
    await bot.send_message(chat_id, clip(text))


async def close_and_tell(runtime: FiscalRuntime, bot: Bot, chat_id: int, actor_id: int,
                         shift_id: int, lang: str, fiscal_enabled: bool) -> None:
    result = await runtime.closer.close(actor_id=actor_id, reason="manual",
                                        expected_shift_id=shift_id)
    if result.status == "closed":
        text = ft.close_summary(result, lang, runtime.settings.tz, fiscal=fiscal_enabled)
    elif result.status == "failed":
        text = ft.close_failed(result, lang, automatic=False)
    else:
        text = _("Эта смена уже закрыта.")
    await bot.send_message(chat_id, clip(text))


# ---- handlers -------------------------------------------------------------------------------

async def deny(query: CallbackQuery) -> None:
    await query.answer(_("Это могут только владелец и менеджер."), show_alert=True)


async def shift_command(message: Message, session: DbSession, staff: Staff, lang: str,
                        settings: Settings, services: Services) -> None:
    text, keyboard = await shift_card(session, staff, lang, settings, services)
    await message.answer(text, reply_markup=keyboard)


async def shift_show(query: CallbackQuery, session: DbSession, staff: Staff, lang: str,
                     settings: Settings, services: Services) -> None:
    text, keyboard = await shift_card(session, staff, lang, settings, services)
    await edit_and_answer(query, text, keyboard)


async def shift_open(query: CallbackQuery, session: DbSession, staff: Staff, lang: str,
                     settings: Settings, services: Services, after_commit: list[AfterCommit],
                     bot: Bot, i18n: I18n) -> None:
    if not staff.is_manager_or_owner:
        await deny(query)
        return
    try:
        shift = await open_shift(session, staff)
    except ShiftAlreadyOpen:
        await query.answer(_("Смена уже открыта."), show_alert=True)
    else:
        await query.answer(_("Смена №{number} открыта.").format(number=shift.number))
    text, keyboard = await shift_card(session, staff, lang, settings, services)
    await edit_or_send(query, text, keyboard)
    if services.fiscal_enabled:
        after(after_commit, i18n, lang,
              partial(open_prro_shift, services.fiscal, bot, query.from_user.id))


async def shift_x(query: CallbackQuery, session: DbSession, staff: Staff, lang: str,
                  settings: Settings, services: Services, after_commit: list[AfterCommit],
                  bot: Bot, i18n: I18n) -> None:
    if not staff.is_manager_or_owner:
        await deny(query)
        return
    try:
        report = await x_report(session, staff)
    except NoOpenShift:
        await query.answer(_("Смена не открыта."), show_alert=True)
        return
    lines = [_("📊 <b>X-отчёт</b> · смена №{number} · {date}").format(
        number=report.number, date=local_dt(utcnow(), settings.tz, lang))]
    lines.extend(ft.money_lines(report, lang))
    await bot.send_message(query.from_user.id, clip("\n".join(lines)))
    await query.answer()
    if services.fiscal_enabled:
        after(after_commit, i18n, lang,
              partial(prro_x_report, services.fiscal, bot, query.from_user.id, lang))


async def shift_z(query: CallbackQuery, session: DbSession, staff: Staff) -> None:
    if not staff.is_manager_or_owner:
        await deny(query)
        return
    shift = await current_shift(session)
    if shift is None:
        await query.answer(_("Смена не открыта."), show_alert=True)
        return
    text = _("Закрыть смену №{number}?\n\nОставшиеся чеки уйдут в ПРРО, будет снят "
             "Z-отчёт. Следующая оплата откроет новую смену.").format(number=shift.number)
    await edit_and_answer(query, text, close_confirm_markup(shift.id))


async def shift_z_confirmed(query: CallbackQuery, callback_data: ShiftCb, staff: Staff,
                            lang: str, services: Services, after_commit: list[AfterCommit],
                            bot: Bot, i18n: I18n) -> None:
    if not staff.is_manager_or_owner:
        await deny(query)
        return
    runtime = services.fiscal_runtime
    runtime.attach_bot(bot, i18n)  # so owners hear of the closing (idempotent)
    await query.answer(_("Закрываю смену…"))
    await edit_or_send(query, _("⏳ Закрываю смену: отправляю оставшиеся чеки, снимаю "
                                "Z-отчёт…"))
    after(after_commit, i18n, lang,
          partial(close_and_tell, runtime, bot, query.from_user.id, staff.id, callback_data.id,
                  lang, services.fiscal_enabled))


def setup() -> Router:
    router = Router(name="fiscal_shift")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(shift_command, Command("shift"))
    router.callback_query.register(shift_show, ShiftCb.filter(F.action == ShiftAction.SHOW))
    router.callback_query.register(shift_open, ShiftCb.filter(F.action == ShiftAction.OPEN))
    router.callback_query.register(shift_x, ShiftCb.filter(F.action == ShiftAction.X))
    router.callback_query.register(shift_z, ShiftCb.filter(F.action == ShiftAction.Z))
    router.callback_query.register(shift_z_confirmed,
                                   ShiftCb.filter(F.action == ShiftAction.Z_OK))
    return router
