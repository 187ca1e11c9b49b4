"""/staff: the owner's list of staff, invite links (and revoking unused ones), roles,
commission, deactivation."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.commands import set_staff_commands
from bot.config import Settings
from bot.views.formatting import h, local_dt
from db.desk.models import Invite, Role, Staff
from db.desk.staff import (
    INVITE_PREFIX,
    change_role,
    create_invite,
    get_staff,
    list_staff,
    parse_percent,
    pending_invites,
    revoke_invite,
    set_active,
    set_commission,
)
from db.engine import DbSession
from db.errors import DomainError, InviteInvalid
from handlers.common import role_title
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.forms import FormData, load, save
from handlers.ui import callback_message, edit_and_answer, form_gone, stale_button
from keyboards.callbacks import StaffAction, StaffCb
from keyboards.common import button, markup

ROLES = (Role.OWNER, Role.MANAGER, Role.MASTER)
SHOWN_INVITES = 20


class StaffForm(StatesGroup):
    percent = State()


class PercentData(FormData):
    staff_id: int


def percent_text(commission_bp: int) -> str:
    return f"{commission_bp / 100:g}"


def revoke_button(invite: Invite, settings: Settings, lang: str) -> InlineKeyboardButton:
    return button(_("✖️ Отозвать: {role} до {until}").format(
        role=role_title(invite.role), until=local_dt(invite.expires_at, settings.tz, lang)),
        StaffCb(action=StaffAction.REVOKE, id=invite.id))


async def staff_list(session: DbSession, staff: Staff, settings: Settings, lang: str
                     ) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("👥 <b>Сотрудники</b>")]
    rows = []
    for person in await list_staff(session):
        mark = "" if person.active else " ⛔"
        pct = f" · {percent_text(person.commission_bp)}%" if person.commission_bp else ""
        lines.append(f"• {h(person.name)} — {role_title(person.role)}{pct}{mark}")
        rows.append([button(f"{person.name}{mark}",
                            StaffCb(action=StaffAction.CARD, id=person.id))])
    rows.append([button(_("➕ Пригласить сотрудника"), StaffCb(action=StaffAction.INVITE))])
    invites = await pending_invites(session, staff)
    if invites:
        lines += ["", _("🔗 Неиспользованные приглашения: {count}").format(count=len(invites))]
        # The newest ones get buttons (a keyboard holds at most 100).
        rows += [[revoke_button(invite, settings, lang)] for invite in invites[-SHOWN_INVITES:]]
    return "\n".join(lines), markup(rows)


def role_buttons(person: Staff) -> list[InlineKeyboardButton]:
    return [button(("✓ " if person.role == role else "") + role_title(role),
                   StaffCb(action=StaffAction.ROLE, id=person.id, role=role)) for role in ROLES]


async def staff_card(session: DbSession, staff_id: int) -> tuple[str, InlineKeyboardMarkup]:
    person = await get_staff(session, staff_id)
    lines = [
        f"👤 <b>{h(person.name)}</b>",
        _("Роль: {role}").format(role=role_title(person.role)),
        _("Процент с работ: {pct}%").format(pct=percent_text(person.commission_bp)),
        _("Активен") if person.active else _("⛔ Отключён"),
    ]
    switch = (button(_("⛔ Отключить"), StaffCb(action=StaffAction.DEACTIVATE, id=person.id))
              if person.active else
              button(_("✅ Вернуть"), StaffCb(action=StaffAction.ACTIVATE, id=person.id)))
    return "\n".join(lines), markup([
        role_buttons(person),
        [button(_("% Процент"), StaffCb(action=StaffAction.PERCENT, id=person.id))],
        [switch],
        [button(_("← Все сотрудники"), StaffCb(action=StaffAction.LIST))],
    ])


async def staff_command(message: Message, session: DbSession, staff: Staff,
                        settings: Settings, lang: str) -> None:
    text, kb = await staff_list(session, staff, settings, lang)
    await message.answer(text, reply_markup=kb)


async def list_cb(query: CallbackQuery, session: DbSession, staff: Staff, settings: Settings,
                  lang: str) -> None:
    text, kb = await staff_list(session, staff, settings, lang)
    await edit_and_answer(query, text, kb)


async def card_cb(query: CallbackQuery, callback_data: StaffCb, session: DbSession) -> None:
    text, kb = await staff_card(session, callback_data.id)
    await edit_and_answer(query, text, kb)


# ---- invites ------------------------------------------------------------------------------

async def invite_pick_role(query: CallbackQuery) -> None:
    rows = [[button(role_title(role), StaffCb(action=StaffAction.INVITE_ROLE, role=role))
             for role in ROLES], [button(_("← Назад"), StaffCb(action=StaffAction.LIST))]]
    await edit_and_answer(query, _("Кого приглашаем?"), markup(rows))


async def invite_create(query: CallbackQuery, callback_data: StaffCb, session: DbSession,
                        staff: Staff, bot: Bot, lang: str, settings: Settings) -> None:
    role = callback_data.role
    if role is None:
        await stale_button(query)
        return
    invite = await create_invite(session, staff, role, timedelta(hours=settings.invite_ttl_hours))
    link = await create_start_link(bot, INVITE_PREFIX + invite.token)
    await edit_and_answer(query, _(
        "🔗 Приглашение ({role}), одноразовое, действует до {until}:\n{link}\n\n"
        "Перешлите ссылку сотруднику: он откроет её в Telegram и нажмёт «Начать» (Start)."
    ).format(role=role_title(role), until=local_dt(invite.expires_at, settings.tz, lang),
             link=link), markup([[revoke_button(invite, settings, lang)],
                                    [button(_("← Все сотрудники"),
                                            StaffCb(action=StaffAction.LIST))]]))


async def invite_revoke(query: CallbackQuery, callback_data: StaffCb, session: DbSession,
                        staff: Staff, settings: Settings, lang: str) -> None:
    """The link stops working at once; the list shows what is still pending."""
    try:
        await revoke_invite(session, staff, callback_data.id)
    except InviteInvalid as exc:
        await query.answer(_("Этим приглашением уже воспользовались: отключите сотрудника в его "
                             "карточке.") if exc.reason == "used" else error_text(exc),
                           show_alert=True)
        return
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    text, kb = await staff_list(session, staff, settings, lang)
    await edit_and_answer(query, text, kb,
                          note=_("Приглашение отозвано: ссылка больше не работает."))


# ---- role, active, commission --------------------------------------------------------------

async def apply(query: CallbackQuery, session: DbSession, staff_id: int,
                change: Awaitable[Staff], bot: Bot, i18n: I18n, settings: Settings) -> None:
    """Run the change, refresh the person's command menu (it depends on the role) and show
    the card again."""
    try:
        person = await change
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    await set_staff_commands(bot, i18n, person, person.language or settings.default_language)
    text, kb = await staff_card(session, staff_id)
    await edit_and_answer(query, text, kb, note=_("Сохранено."))


async def role_cb(query: CallbackQuery, callback_data: StaffCb, session: DbSession,
                  staff: Staff, bot: Bot, i18n: I18n, settings: Settings) -> None:
    if callback_data.role is None:
        await stale_button(query)
        return
    await apply(query, session, callback_data.id,
                change_role(session, staff, callback_data.id, callback_data.role),
                bot, i18n, settings)


async def active_cb(query: CallbackQuery, callback_data: StaffCb, session: DbSession,
                    staff: Staff, bot: Bot, i18n: I18n, settings: Settings) -> None:
    active = callback_data.action is StaffAction.ACTIVATE
    await apply(query, session, callback_data.id,
                set_active(session, staff, callback_data.id, active), bot, i18n, settings)


async def percent_start(query: CallbackQuery, callback_data: StaffCb, session: DbSession,
                        state: FSMContext) -> None:
    person = await get_staff(session, callback_data.id)
    await state.set_state(StaffForm.percent)
    await save(state, PercentData(staff_id=person.id))
    if (message := callback_message(query)) is not None:
        await message.answer(_("Процент с выполненных работ для {name} (0–100, например 30 "
                               "или 12,5):").format(name=h(person.name)))
    await query.answer()


async def percent_value(message: Message, session: DbSession, state: FSMContext,
                        staff: Staff) -> None:
    data = await load(state, PercentData)
    if data is None:
        await form_gone(message, state)
        return
    try:
        await set_commission(session, staff, data.staff_id, parse_percent(message.text or ""))
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    text, kb = await staff_card(session, data.staff_id)
    await message.answer(text, reply_markup=kb)


async def percent_wrong(message: Message) -> None:
    await message.answer(_("Процент — число от 0 до 100, например 30 или 12,5."))


def setup() -> Router:
    router = Router(name="staff_admin.staff")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))
    router.message.register(staff_command, Command("staff"))
    router.callback_query.register(list_cb, StaffCb.filter(F.action == StaffAction.LIST))
    router.callback_query.register(card_cb, StaffCb.filter(F.action == StaffAction.CARD))
    router.callback_query.register(invite_pick_role,
                                   StaffCb.filter(F.action == StaffAction.INVITE))
    router.callback_query.register(invite_create,
                                   StaffCb.filter(F.action == StaffAction.INVITE_ROLE))
    router.callback_query.register(invite_revoke,
                                   StaffCb.filter(F.action == StaffAction.REVOKE))
    router.callback_query.register(role_cb, StaffCb.filter(F.action == StaffAction.ROLE))
    router.callback_query.register(active_cb, StaffCb.filter(
        F.action.in_({StaffAction.DEACTIVATE, StaffAction.ACTIVATE})))
    router.callback_query.register(percent_start,
                                   StaffCb.filter(F.action == StaffAction.PERCENT))
    router.message.register(percent_value, StaffForm.percent, F.text, NotCommand())
    router.message.register(percent_wrong, StaffForm.percent, NotCommand())
    return router
