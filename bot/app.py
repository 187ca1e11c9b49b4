"""Composition root: engine, migrations, bot, dispatcher, scheduler; polling or webhook."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.commands import set_default_commands, set_staff_commands
from bot.config import Settings
from bot.i18n import make_i18n
from bot.middlewares import ContextMiddleware, DbSessionMiddleware
from bot.services import Services, make_services
from db.desk.staff import list_staff
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from handlers.errors import on_error
from handlers.routers import describe, setup_routers

log = logging.getLogger("bot")


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


def make_bot(settings: Settings) -> Bot:
    session = None
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.require_token(), session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def build_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage | None = None,
    services: Services | None = None,
) -> Dispatcher:
    """A fresh Dispatcher with fresh routers: tests build one per test.

    Handlers receive `settings`, `services`, `session_factory`, `i18n` and, per update,
    `session` (in its transaction), `after_commit`, `staff`, `client` and `lang`."""
    storage = storage or MemoryStorage()
    services = services or make_services(settings, session_factory)
    # Updates of one chat are handled one at a time (in order), so a photo and a text sent
    # together cannot race on the same form's data; different chats still run in parallel.
    isolation = (storage.create_isolation() if hasattr(storage, "create_isolation")
                 else SimpleEventIsolation())
    dp = Dispatcher(storage=storage, events_isolation=isolation, settings=settings,
                    session_factory=session_factory,
                    services=services)
    dp.update.outer_middleware(DbSessionMiddleware(session_factory))
    dp.update.outer_middleware(ContextMiddleware(settings, i18n))
    dp.include_router(setup_routers(settings))
    dp.errors.register(on_error)
    return dp


@dataclass
class Application:
    settings: Settings
    engine: AsyncEngine | None = None
    bot: Bot | None = None
    dp: Dispatcher | None = None
    i18n: I18n | None = None
    session_factory: async_sessionmaker[AsyncSession] | None = None
    services: Services | None = None
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    scheduler: Any = None
    outbox_worker: Any = None
    _stop: asyncio.Event | None = None

    async def start(self) -> None:
        settings = self.settings
        self.engine = create_engine(settings.database_url)
        await upgrade(self.engine)
        self.session_factory = create_session_factory(self.engine)
        self.i18n = make_i18n(settings.default_language)
        self.bot = make_bot(settings)
        self.services = make_services(settings, self.session_factory)
        self.services.fiscal_runtime.attach_bot(self.bot, self.i18n)
        self.dp = build_dispatcher(settings, self.session_factory, self.i18n,
                                   make_storage(settings), self.services)
        log.info("routers:\n%s", "\n".join(describe(self.dp)))
        await self._set_commands()

    async def _set_commands(self) -> None:
        assert self.bot and self.i18n and self.session_factory
        await set_default_commands(self.bot, self.i18n, self.settings.client_language)
        async with self.session_factory() as session:
            for person in await list_staff(session, active_only=True):
                await set_staff_commands(self.bot, self.i18n, person,
                                         person.language or self.settings.default_language)

    async def start_background(self) -> None:
        """The workers and the scheduler, all of them listed here:

        * the outbox worker (client messages: Telegram first, SMS fallback);
        * the fiscal retry loop (pending receipts to the PRRO, after commit, with backoff);
        * the scheduler's jobs (reminders, digest, shift auto-close; see scheduler/)."""
        from bot.workers.outbox import OutboxWorker
        from scheduler import build_scheduler

        assert self.bot and self.session_factory and self.services and self.i18n
        self._stop = asyncio.Event()
        self.outbox_worker = OutboxWorker(self.session_factory, self.bot, self.services.sms,
                                          wakeup=self.services.outbox_wakeup)
        fiscal = self.services.fiscal_runtime
        self.background = [
            asyncio.create_task(self.outbox_worker.run_forever(self._stop), name="outbox"),
            asyncio.create_task(fiscal.run_forever(self._stop), name="fiscal-retry-loop"),
        ]
        self.scheduler = build_scheduler(self.settings, self.session_factory, self.bot,
                                         self.i18n, fiscal)
        self.scheduler.start()

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        assert self.bot and self.dp
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dp.start_polling(self.bot, handle_signals=handle_signals,
                                    allowed_updates=self.dp.resolve_used_update_types())

    async def run_webhook(self) -> None:
        """Serve Telegram's webhook on WEBHOOK_LISTEN (host:port) behind WEBHOOK_URL."""
        from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
        from aiohttp import web

        assert self.bot and self.dp
        settings = self.settings
        host, _sep, port = settings.webhook_listen.rpartition(":")
        path = "/" + settings.webhook_url.split("://", 1)[-1].partition("/")[2]
        app = web.Application()
        SimpleRequestHandler(dispatcher=self.dp, bot=self.bot,
                             secret_token=settings.webhook_secret or None).register(app, path=path)
        setup_application(app, self.dp, bot=self.bot)
        await self.bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret or None,
            allowed_updates=self.dp.resolve_used_update_types())
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host or "0.0.0.0", int(port or 8080)).start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self._stop is not None:
            self._stop.set()
        if self.background:
            _done, pending = await asyncio.wait(self.background, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self.background, return_exceptions=True)
        if self.dp is not None:
            await self.dp.storage.close()
        if self.services is not None:
            await self.services.aclose()
        if self.bot is not None:
            await self.bot.session.close()
        if self.engine is not None:
            await self.engine.dispose()


async def run(settings: Settings) -> None:
    app = Application(settings)
    await app.start()
    await app.start_background()
    try:
        me = await app.bot.get_me()  # type: ignore[union-attr]
        log.info("bot @%s started (database %s)", me.username,
                 app.engine.url.render_as_string())  # type: ignore[union-attr]
        if settings.webhook_url:
            await app.run_webhook()
        else:
            await app.run_polling()
    finally:
        await app.stop()
