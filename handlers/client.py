"""What a client (anyone who is not staff) sees: a greeting and help. Linking the chat by a
shared contact and /status are added by the client notifications feature."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.formatting import h
from handlers.filters import IsNotStaff


def client_greeting(settings: Settings) -> str:
    lines = [_("Здравствуйте! Это бот сервисного центра «{shop}».").format(
        shop=h(settings.shop_name))]
    if settings.shop_address:
        lines.append(_("Адрес: {address}").format(address=h(settings.shop_address)))
    if settings.shop_phone:
        lines.append(_("Телефон: {phone}").format(phone=h(settings.shop_phone)))
    return "\n".join(lines)


def setup(settings: Settings) -> Router:
    router = Router(name="client")
    router.message.filter(IsNotStaff())

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(client_greeting(settings))

    @router.message(Command("help"))
    async def help_client(message: Message) -> None:
        await message.answer(client_greeting(settings) + "\n\n" + _(
            "Здесь приходят уведомления о ремонте: когда устройство готово, смета на "
            "согласование и чеки."))

    return router
