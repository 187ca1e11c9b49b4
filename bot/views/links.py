"""Links people open: a ticket's status link for its client (the deep link opens the public
status in Telegram)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.utils.deep_linking import create_start_link

from db.desk.models import Ticket
from keyboards.notify import STATUS_PREFIX


class StatusLinks:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def ticket(self, ticket: Ticket) -> str:
        """t.me/<bot>?start=st_<token>: opens the ticket's public status in one tap."""
        return await create_start_link(self.bot, STATUS_PREFIX + ticket.public_token)
