"""Telling people about fiscal trouble and closed shifts, each in their own language.

Sent straight through the Bot (staff chats; a failed send is logged, never raised): these are
staff notices from background jobs, not client messages, so they do not need the outbox's
SMS fallback.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.usecases.shift_close import CloseResult
from bot.views import fiscal_texts as texts
from bot.views.formatting import clip
from db.base import utcnow
from db.desk.models import Role, Staff
from db.fiscal.queue import FiscalJob
from keyboards.fiscal import retry_markup

logger = logging.getLogger("bot.fiscalization")

# The same trouble is repeated to owners at most this often (a PRRO outage overnight must not
# become a message every hour).
REPEAT_AFTER = timedelta(hours=3)


class TelegramFiscalNotifier:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: I18n,
        settings: Settings,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.i18n = i18n
        self.settings = settings
        self._last: dict[str, tuple[str, datetime]] = {}

    # -- recipients -----------------------------------------------------------------------

    async def _people(self, *, staff_ids: tuple[int | None, ...] = (),
                      exclude: int | None = None) -> list[tuple[int, str]]:
        """(chat id, language) of active owners (and OWNER_IDS not seen yet) plus `staff_ids`,
        each once."""
        default = self.settings.default_language
        async with self.session_factory() as session:
            people = list(await session.scalars(
                select(Staff).where(Staff.active.is_(True),
                                    (Staff.role == Role.OWNER)
                                    | Staff.id.in_([i for i in staff_ids if i is not None]))
                .order_by(Staff.id)
            ))
            known = set(await session.scalars(select(Staff.tg_user_id)))
        out: dict[int, str] = {}
        for person in people:
            if person.id != exclude:
                out.setdefault(person.tg_user_id, person.language or default)
        for owner_id in self.settings.owner_ids:
            if owner_id not in known:
                out.setdefault(owner_id, default)
        return list(out.items())

    async def _send(self, chat_id: int, text: str,
                    markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await self.bot.send_message(chat_id, clip(text), reply_markup=markup)
        except TelegramAPIError as exc:
            logger.warning("fiscal notice to %s not delivered: %s", chat_id, exc)

    def _repeated(self, key: str, text: str) -> bool:
        now = utcnow()
        last = self._last.get(key)
        if last is not None and last[0] == text and now - last[1] < REPEAT_AFTER:
            return True
        self._last[key] = (text, now)
        return False

    # -- notices --------------------------------------------------------------------------

    async def fiscal_failed(self, job: FiscalJob, error: str) -> None:
        for chat_id, lang in await self._people(staff_ids=(job.staff_id,)):
            with self.i18n.context(), self.i18n.use_locale(lang):
                text = texts.fiscal_failure(job, error, lang, self.settings.tz)
                markup = retry_markup(job.kind, job.row_id)
            await self._send(chat_id, text, markup)

    async def provider_unavailable(self, error: str, *, auth: bool) -> None:
        if self._repeated("auth" if auth else "shift", error):
            return
        for chat_id, lang in await self._people():
            with self.i18n.context(), self.i18n.use_locale(lang):
                text = texts.provider_unavailable(error, auth=auth)
            await self._send(chat_id, text)

    async def shift_closed(self, result: CloseResult) -> None:
        self._last.pop("close", None)
        exclude = result.actor_id if result.reason == "manual" else None
        for chat_id, lang in await self._people(exclude=exclude):
            with self.i18n.context(), self.i18n.use_locale(lang):
                text = texts.close_summary(result, lang, self.settings.tz,
                                           fiscal=self.settings.fiscal_provider != "none")
            await self._send(chat_id, text)

    async def shift_close_failed(self, result: CloseResult) -> None:
        if result.reason == "manual":
            return  # the person who pressed Z sees it in the chat
        if self._repeated("close", result.error or ""):
            return
        for chat_id, lang in await self._people():
            with self.i18n.context(), self.i18n.use_locale(lang):
                text = texts.close_failed(result, lang, automatic=True)
            await self._send(chat_id, text)
