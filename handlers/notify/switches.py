"""/settings → 🔔 Уведомления (owner only): each client message on or off, and the reminder's
"after N days, at most M times". db/notify/settings checks the role again."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from db.desk.models import Role, Staff
from db.engine import DbSession
from db.errors import InvalidValue
from db.notify.models import MessageKind
from db.notify.settings import (
    SWITCHES,
    NotifySettings,
    get_notify_settings,
    step_reminder,
    toggle_status_sms,
    toggle_switch,
)
from handlers.filters import IsStaff
from handlers.ui import edit_and_answer
from keyboards.callbacks import SettingsCb
from keyboards.common import button, markup
from keyboards.notify import NotifySetAction, NotifySetCb

UP, DOWN = 1, -1  # the ➕ / ➖ steps


def switch_title(kind: str) -> str:
    return {
        MessageKind.INTAKE: _("Приём: номер и ссылка на статус"),
        MessageKind.READY: _("«Можно забирать» (вопрос на карточке)"),
        MessageKind.STATUS: _("Смена статуса (диагностика, запчасть, в работе)"),
        MessageKind.ESTIMATE: _("Смета на согласование с кнопками"),
        MessageKind.REMINDER: _("Напоминание, если не забирают"),
    }[MessageKind(kind)]


def stepper(action: NotifySetAction, label: str) -> list[InlineKeyboardButton]:
    return [button("➖", NotifySetCb(action=action, step=DOWN)),
            button(label, NotifySetCb(action=NotifySetAction.NOOP)),
            button("➕", NotifySetCb(action=action, step=UP))]


def view(current: NotifySettings) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("🔔 <b>Уведомления клиентам</b>"),
             _("Сначала в Telegram, без Telegram — SMS. Нажмите, чтобы включить или выключить."),
             _("SMS платные: смена статуса по SMS — только если включено ниже."),
             ""]
    rows = []
    for kind in SWITCHES:
        mark = "✅" if current.enabled(kind) else "⛔"
        lines.append(f"{mark} {switch_title(kind)}")
        rows.append([button(f"{mark} {switch_title(kind)}",
                            NotifySetCb(action=NotifySetAction.SWITCH, kind=MessageKind(kind)))])
        if kind == MessageKind.STATUS:
            sms_mark = "✅" if current.status_sms else "⛔"
            label = _("📩 Смену статуса — и по SMS (платно)")
            lines.append(f"{sms_mark} {label}")
            rows.append([button(f"{sms_mark} {label}",
                                NotifySetCb(action=NotifySetAction.STATUS_SMS))])
    lines.append(_("⏰ Напоминание: через {days} дн., не больше {count} раз").format(
        days=current.reminder_days, count=current.reminder_max))
    rows.append(stepper(NotifySetAction.DAYS,
                        _("⏰ через {days} дн.").format(days=current.reminder_days)))
    rows.append(stepper(NotifySetAction.MAX,
                        _("🔁 до {count} раз").format(count=current.reminder_max)))
    rows.append([button(_("← Настройки"), SettingsCb(action="menu"))])
    return "\n".join(lines), markup(rows)


async def show(query: CallbackQuery, session: DbSession, note: str | None = None) -> None:
    text, kb = view(await get_notify_settings(session))
    await edit_and_answer(query, text, kb, note=note)


async def menu(query: CallbackQuery, session: DbSession) -> None:
    await show(query, session)


async def stale(query: CallbackQuery) -> None:
    await query.answer(_("Кнопка устарела — откройте /settings заново."), show_alert=True)


async def toggle(query: CallbackQuery, callback_data: NotifySetCb, session: DbSession,
                 staff: Staff) -> None:
    if callback_data.kind is None:
        await stale(query)
        return
    try:
        on = await toggle_switch(session, staff, callback_data.kind)
    except InvalidValue:  # a kind without a switch
        await stale(query)
        return
    await show(query, session, _("Включено") if on else _("Выключено"))


async def status_sms(query: CallbackQuery, session: DbSession, staff: Staff) -> None:
    on = await toggle_status_sms(session, staff)
    note = _("Статусы: Telegram и SMS") if on else _("Статусы: только Telegram")
    await show(query, session, note)


async def reminder(query: CallbackQuery, callback_data: NotifySetCb, session: DbSession,
                   staff: Staff) -> None:
    step = UP if callback_data.step == UP else DOWN
    if callback_data.action == NotifySetAction.DAYS:
        await step_reminder(session, staff, days=step)
    else:
        await step_reminder(session, staff, max_count=step)
    await show(query, session)


def setup() -> Router:
    router = Router(name="notify_switches")
    # A second line: db/notify/settings refuses other roles itself.
    router.callback_query.filter(IsStaff(Role.OWNER))
    router.callback_query.register(menu, NotifySetCb.filter(
        F.action.in_({NotifySetAction.MENU, NotifySetAction.NOOP})))
    router.callback_query.register(toggle,
                                   NotifySetCb.filter(F.action == NotifySetAction.SWITCH))
    router.callback_query.register(status_sms,
                                   NotifySetCb.filter(F.action == NotifySetAction.STATUS_SMS))
    router.callback_query.register(reminder, NotifySetCb.filter(
        F.action.in_({NotifySetAction.DAYS, NotifySetAction.MAX})))
    return router
