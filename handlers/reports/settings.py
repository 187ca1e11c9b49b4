"""The owner's report switches (⚙️ Настройки → 📊 Отчёты и сводка): whether managers see the
totals, and when the daily digest goes out (a preset, or a time typed in a form). The rules
and the owner check are db/reports/settings.py's; managers get "no access" here."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from db.desk.models import Role, Staff
from db.engine import DbSession
from db.errors import InvalidValue
from db.reports.settings import (
    DIGEST_OFF,
    DIGEST_SHIFT,
    get_report_settings,
    set_digest,
    set_managers_see_totals,
)
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save
from handlers.reports.access import desk_router
from handlers.reports.common import answer_stale
from handlers.reports.forms import DigestTimeData, ReportForm
from handlers.ui import callback_message, edit_or_send
from keyboards.reports import ReportSettingsAction, ReportSettingsCb, settings_keyboard


def digest_time_hint() -> str:
    return _("Время — ЧЧ:ММ, например 21:30. Отмена — /cancel.")


def _digest_text(mode: str) -> str:
    if mode == DIGEST_OFF:
        return _("выключена")
    if mode == DIGEST_SHIFT:
        return _("после закрытия кассовой смены")
    return _("каждый день в {time}").format(time=mode)


async def show_settings(target: Message | CallbackQuery, session: DbSession) -> None:
    current = await get_report_settings(session)
    text = "\n".join([
        _("📊 <b>Отчёты и сводка</b>"),
        _("Менеджеры видят итоги и отчёты: {value}").format(
            value=_("да") if current.managers else _("нет")),
        _("Ежедневная сводка владельцам: {value}").format(value=_digest_text(current.digest)),
        _("Сводка — итоги дня и график выручки и обращений за 14 дней. Время до 12:00 — "
          "сводка за вчерашний день."),
    ])
    await edit_or_send(target, text, settings_keyboard(current.managers, current.digest))


async def settings_menu(query: CallbackQuery, session: DbSession) -> None:
    await show_settings(query, session)
    await query.answer()


async def toggle_managers(query: CallbackQuery, session: DbSession, staff: Staff) -> None:
    current = await get_report_settings(session)
    await set_managers_see_totals(session, staff, not current.managers)
    await show_settings(query, session)
    await query.answer(_("Сохранено."))


async def digest_preset(query: CallbackQuery, callback_data: ReportSettingsCb,
                        session: DbSession, staff: Staff) -> None:
    try:
        await set_digest(session, staff, callback_data.digest_mode)
    except InvalidValue:
        await answer_stale(query)
        return
    await show_settings(query, session)
    await query.answer(_("Сохранено."))


async def ask_digest_time(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ReportForm.digest_time)
    await save(state, DigestTimeData.start())
    if (message := callback_message(query)) is not None:
        await message.answer(_("Во сколько присылать сводку? Время ЧЧ:ММ, например 21:30 "
                               "(до 12:00 — сводка за вчерашний день). Отмена — /cancel."))
    await query.answer()


async def digest_time_typed(message: Message, session: DbSession, state: FSMContext,
                            staff: Staff) -> None:
    if await load(state, DigestTimeData) is None:
        await state.clear()
        await message.answer(_("Форма устарела — откройте /settings заново."))
        return
    try:
        await set_digest(session, staff, (message.text or "").replace(".", ":").strip())
    except InvalidValue:
        await message.answer(digest_time_hint())
        return
    await state.clear()
    await show_settings(message, session)


async def digest_time_wrong(message: Message) -> None:
    await message.answer(digest_time_hint())


async def settings_refused(query: CallbackQuery) -> None:
    await query.answer(_("Нет доступа."), show_alert=True)


def setup() -> Router:
    router = desk_router("reports.settings")
    owner = IsStaff(Role.OWNER)
    on = router.callback_query.register
    action = ReportSettingsCb.filter
    on(settings_menu, action(F.action == ReportSettingsAction.MENU), owner)
    on(toggle_managers, action(F.action == ReportSettingsAction.MANAGERS), owner)
    on(digest_preset, action(F.action == ReportSettingsAction.DIGEST), owner)
    on(ask_digest_time, action(F.action == ReportSettingsAction.DIGEST_TIME), owner)
    router.message.register(digest_time_typed, ReportForm.digest_time, F.text, NotCommand(),
                            owner)
    router.message.register(digest_time_wrong, ReportForm.digest_time, NotCommand())
    on(settings_refused, action())  # managers
    return router
