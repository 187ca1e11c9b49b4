"""Per-update context: the unit of work (one transaction, applied once), who is writing (staff
or not), their language."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot import logs
from bot.config import Settings
from bot.fsm_storage import update_session
from bot.unit_of_work import UnitOfWork, current_uow, watch_writes
from bot.views.client_notices import ClientNoticeTexts
from bot.views.links import StatusLinks
from db.desk.models import Client
from db.desk.staff import ensure_owners
from db.notify.templates import client_language
from db.updates import Redeliveries, was_processed

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One transaction per update (bot/unit_of_work.py): an update applied before is skipped
    (looked up only when it may have been: db.updates.Redeliveries); the handler's
    `uow.commit()` (or the end of the handler) commits and records it as applied; an error
    rolls everything back, so nothing is half-written and a redelivery runs again.

    Handlers put work that must only see committed data into `after_commit` (= the unit of
    work's list); it runs after the commit, never after a rollback."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession],
                 redeliveries: Redeliveries) -> None:
        self.session_factory = session_factory
        self.redeliveries = redeliveries
        watch_writes(session_factory.kw.get("sync_session_class", Session))

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        bot: Bot = data["bot"]
        update_id = event.update_id if isinstance(event, Update) else 0
        user = data.get("event_from_user")
        with logs.scope(update_id=update_id or None, user_id=user.id if user else None):
            return await self._in_transaction(handler, event, data, bot, update_id)

    async def _in_transaction(self, handler: Handler, event: TelegramObject,
                              data: dict[str, Any], bot: Bot, update_id: int) -> Any:
        async with self.session_factory() as session:
            if update_id and await self._applied_before(session, bot.id, update_id):
                await session.rollback()
                log.info("update %s was applied before: skipped", update_id)
                return UNHANDLED
            uow = UnitOfWork(session, bot.id, update_id)
            data.update(session=session, uow=uow, after_commit=uow.after_commit)
            tokens = current_uow.set(uow), update_session.set(session)
            try:
                result = await handler(event, data)
                await uow.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                current_uow.reset(tokens[0])
                update_session.reset(tokens[1])
        return result

    async def _applied_before(self, session: AsyncSession, bot_id: int, update_id: int) -> bool:
        return (await self.redeliveries.may_be_applied(session, bot_id, update_id)
                and await was_processed(session, bot_id, update_id))


class ContextMiddleware(BaseMiddleware):
    """Resolves `staff` (None for clients and strangers) and `lang`, sets the locale, and gives
    handlers `notices` (the wording of client messages, for the use cases)."""

    def __init__(self, settings: Settings, i18n: I18n) -> None:
        self.settings = settings
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        staff = None
        client = None
        if user is not None and not user.is_bot:
            staff = await ensure_owners(session, self.settings.owner_ids, user.id, user.full_name)
            if staff is None:
                client = await session.scalar(select(Client).where(Client.tg_chat_id == user.id))
        if staff is not None:
            lang = staff.language or self.settings.default_language
        else:
            lang = client_language(client.language if client else None,
                                   self.settings.client_language)
        notices = ClientNoticeTexts(self.settings, StatusLinks(data["bot"]))
        data.update(staff=staff, client=client, lang=lang, i18n=self.i18n, notices=notices)
        with self.i18n.context(), self.i18n.use_locale(lang):
            return await handler(event, data)
