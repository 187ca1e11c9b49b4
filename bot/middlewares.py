"""Per-update context: one DB transaction, who is writing (staff or not), their language."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.views.client_notices import ClientNoticeTexts
from bot.views.links import StatusLinks
from db.desk.models import Client
from db.desk.staff import ensure_owners
from db.notify.templates import client_language

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


AfterCommit = Callable[[], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One transaction per update: committed when the handler returns, rolled back on error,
    so no money or ticket data is ever half-written.

    Handlers put work that must only see committed data (fiscalizing a payment, waking the
    outbox worker) into `data["after_commit"]`; it runs after the commit, never after a
    rollback, and its failures are logged, not shown (the data is already safe)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        after_commit: list[AfterCommit] = []
        async with self.session_factory() as session, session.begin():
            data["session"] = session
            data["after_commit"] = after_commit
            result = await handler(event, data)
        for job in after_commit:
            try:
                await job()
            except Exception:
                log.exception("after-commit job %r failed", job)
        return result


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
