"""/settings → 🔔 Уведомления (owner only): each client message on or off, and the reminder's
"after N days, at most M times"."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.desk.models import Role, Staff
from db.errors import InvalidValue
from db.notify.settings import (
    REMINDER_DAYS_MAX,
    REMINDER_MAX_MAX,
    SWITCHES,
    NotifySettings,
    get_notify_settings,
    set_reminder,
    set_switch,
)
from handlers.filters import IsStaff
from handlers.ui import edit_or_send
from keyboards.callbacks import SettingsCb
from keyboards.common import button, markup
from keyboards.notify import NotifySetCb


def switch_title(kind: str) -> str:
    return {
        "intake": _("Приём: номер и ссылка на статус"),
        "ready": _("«Можно забирать» (вопрос на карточке)"),
        "status": _("Смена статуса (диагностика, запчасть, в работе)"),
        "estimate": _("Смета на согласование с кнопками"),
        "reminder": _("Напоминание, если не забирают"),
    }[kind]


def view(current: NotifySettings) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("🔔 <b>Уведомления клиентам</b>"),
             _("Сначала в Telegram, без Telegram — SMS. Нажмите, чтобы включить или выключить."),
             ""]
    rows = []
    for kind in SWITCHES:
        mark = "✅" if current.enabled(kind) else "⛔"
        lines.append(f"{mark} {switch_title(kind)}")
        rows.append([button(f"{mark} {switch_title(kind)}", NotifySetCb(action="sw", arg=kind))])
    lines.append(_("⏰ Напоминание: через {days} дн., не больше {count} раз").format(
        days=current.reminder_days, count=current.reminder_max))
    rows.append([button("➖", NotifySetCb(action="days", arg="-1")),
                 button(_("⏰ через {days} дн.").format(days=current.reminder_days),
                        NotifySetCb(action="noop")),
                 button("➕", NotifySetCb(action="days", arg="1"))])
    rows.append([button("➖", NotifySetCb(action="max", arg="-1")),
                 button(_("🔁 до {count} раз").format(count=current.reminder_max),
                        NotifySetCb(action="noop")),
                 button("➕", NotifySetCb(action="max", arg="1"))])
    rows.append([button(_("← Настройки"), SettingsCb(action="menu"))])
    return "\n".join(lines), markup(rows)


def setup(settings: Settings) -> Router:
    router = Router(name="notify_switches")
    router.callback_query.filter(IsStaff(Role.OWNER))

    async def show(query: CallbackQuery, session: AsyncSession, note: str | None = None) -> None:
        text, kb = view(await get_notify_settings(session))
        await edit_or_send(query, text, kb)
        await query.answer(note)

    @router.callback_query(NotifySetCb.filter(F.action.in_({"menu", "noop"})))
    async def menu(query: CallbackQuery, session: AsyncSession) -> None:
        await show(query, session)

    @router.callback_query(NotifySetCb.filter(F.action == "sw"))
    async def toggle(query: CallbackQuery, callback_data: NotifySetCb, session: AsyncSession,
                     staff: Staff) -> None:
        if callback_data.arg not in SWITCHES:
            await query.answer(_("Кнопка устарела — откройте /settings заново."),
                               show_alert=True)
            return
        current = await get_notify_settings(session)
        on = not current.enabled(callback_data.arg)
        await set_switch(session, staff, callback_data.arg, on)
        await show(query, session, _("Включено") if on else _("Выключено"))

    @router.callback_query(NotifySetCb.filter(F.action.in_({"days", "max"})))
    async def reminder(query: CallbackQuery, callback_data: NotifySetCb, session: AsyncSession,
                       staff: Staff) -> None:
        step = 1 if callback_data.arg == "1" else -1
        current = await get_notify_settings(session)
        try:
            if callback_data.action == "days":
                days = min(REMINDER_DAYS_MAX, max(1, current.reminder_days + step))
                await set_reminder(session, staff, days=days)
            else:
                count = min(REMINDER_MAX_MAX, max(1, current.reminder_max + step))
                await set_reminder(session, staff, max_count=count)
        except InvalidValue:
            pass
        await show(query, session)

    return router
