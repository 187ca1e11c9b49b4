"""/start (with invite and label deep links), /help and /cancel — for everyone, in any state."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.commands import set_staff_commands
from bot.config import Settings
from bot.views.formatting import h
from db.desk.models import Role, Staff
from db.desk.staff import INVITE_PREFIX, accept_invite
from db.desk.tickets import get_ticket_by_number, get_ticket_by_token
from db.engine import DbSession
from db.errors import DomainError, NotFound
from handlers.error_texts import error_text
from handlers.filters import IsStaff
from handlers.ticket_card import send_ticket_card
from keyboards.callbacks import LABEL_PREFIX
from keyboards.menu import staff_menu
from keyboards.notify import STATUS_PREFIX


def role_title(role: Role) -> str:
    return {Role.OWNER: _("владелец"), Role.MANAGER: _("менеджер"),
            Role.MASTER: _("мастер")}[role]


def staff_help(staff: Staff) -> str:
    lines = [
        _("<b>Как работать</b>"),
        _("• Напишите телефон (можно последние 4 цифры) или имя — откроется клиент."),
        _("• Напишите #12 — откроется обращение [12]."),
        _("• 👥 Клиенты — поиск и новый клиент; 🛠 Сервис — открытые обращения."),
        _("• В карточке обращения: статус, комментарии с фото, история, этикетка с QR."),
        _("• В карточке: 💳 Оплата, 🧾 Расходы, 🏁 Закрыть обращение."),
        _("• 💰 Касса (/cash): остаток, движения за день, продажа без обращения; /shift — смена."),
        _("• /cancel — отменить любое действие."),
        "",
        _("Команды: /client, /ticket N, /find, /cash, /shift, /services, /help, /cancel"),
    ]
    if staff.role == Role.OWNER:
        lines.append(_("Владельцу: /staff — сотрудники и приглашения, /settings — настройки."))
        lines.append(_("/audit — журнал действий: деньги, статусы, доступ (кто, когда, что)."))
    return "\n".join(lines)


async def cancel(message: Message, state: FSMContext, staff: Staff | None) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    text = _("Отменено.") if had_state else _("Нечего отменять.")
    await message.answer(text, reply_markup=staff_menu(staff) if staff is not None else None)


async def help_staff(message: Message, staff: Staff) -> None:
    await message.answer(staff_help(staff), reply_markup=staff_menu(staff))


async def start_invite(message: Message, command: CommandObject, session: DbSession,
                       state: FSMContext, bot: Bot, i18n: I18n, staff: Staff | None,
                       settings: Settings) -> None:
    user = message.from_user
    if user is None:
        return
    try:
        new_staff = await accept_invite(session, (command.args or "")[len(INVITE_PREFIX):],
                                        user.id, user.full_name)
    except DomainError as exc:
        await message.answer(error_text(exc), reply_markup=staff_menu(staff) if staff else None)
        return
    await state.clear()
    lang = new_staff.language or settings.default_language
    await set_staff_commands(bot, i18n, new_staff, lang)
    with i18n.use_locale(lang):
        await message.answer(
            _("Добро пожаловать в {shop}, {name}! Ваша роль: {role}.").format(
                shop=h(settings.shop_name), name=h(new_staff.name),
                role=role_title(new_staff.role)) + "\n\n" + staff_help(new_staff),
            reply_markup=staff_menu(new_staff))


async def start_label(message: Message, command: CommandObject, session: DbSession,
                      state: FSMContext, lang: str, settings: Settings) -> None:
    await state.clear()
    number = (command.args or "")[len(LABEL_PREFIX):]
    try:
        ticket = await get_ticket_by_number(session, int(number))
    except (ValueError, NotFound):
        await message.answer(_("Обращение по этой этикетке не найдено."))
        return
    await send_ticket_card(message, session, ticket.id, lang, settings)


async def start_status_link(message: Message, command: CommandObject, session: DbSession,
                            state: FSMContext, lang: str, settings: Settings) -> None:
    """The client's status link (QR "📱 Для клиента") opened by staff: the ticket card."""
    await state.clear()
    ticket = await get_ticket_by_token(session, (command.args or "")[len(STATUS_PREFIX):])
    if ticket is None:
        await message.answer(_("Обращение по этой ссылке не найдено."))
        return
    await send_ticket_card(message, session, ticket.id, lang, settings)


async def start_staff(message: Message, state: FSMContext, staff: Staff, bot: Bot, i18n: I18n,
                      lang: str, settings: Settings) -> None:
    await state.clear()
    await set_staff_commands(bot, i18n, staff, lang)
    await message.answer(
        _("Здравствуйте, {name}! {shop}, вы — {role}.").format(
            name=h(staff.name), shop=h(settings.shop_name), role=role_title(staff.role))
        + "\n" + _("Напишите телефон или имя клиента, или #номер обращения."),
        reply_markup=staff_menu(staff))


def deep_link(prefix: str) -> CommandStart:
    return CommandStart(deep_link=True, magic=F.args.startswith(prefix))


def setup() -> Router:
    router = Router(name="common")
    router.message.register(cancel, Command("cancel"))
    router.message.register(help_staff, Command("help"), IsStaff())
    router.message.register(start_invite, deep_link(INVITE_PREFIX))
    router.message.register(start_label, deep_link(LABEL_PREFIX), IsStaff())
    router.message.register(start_status_link, deep_link(STATUS_PREFIX), IsStaff())
    router.message.register(start_staff, CommandStart(), IsStaff())
    return router
