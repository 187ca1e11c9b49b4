"""Composition root: engine, migrations, bot, dispatcher, workers, scheduler; polling or
webhook until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

import aiogram.methods
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response
from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.commands import set_default_commands, set_staff_commands
from bot.config import Settings
from bot.fsm_storage import DatabaseStorage
from bot.i18n import make_i18n
from bot.inline_filters import run_filters_inline
from bot.middlewares import ContextMiddleware, DbSessionMiddleware
from bot.polling import Poller
from bot.services import Services, make_services
from bot.throttle import ThrottleMiddleware, make_counter
from bot.unit_of_work import CommitBeforeSpeaking
from bot.web import HealthCheck, Heartbeats, LastBeat, build_web_app, database_check
from bot.webhook import CommitThenAckHandler, host_port, webhook_path
from db.desk.staff import list_staff
from db.engine import create_engine, create_session_factory, sqlite_file
from db.locks import Leadership
from db.migrate import upgrade
from db.updates import Redeliveries
from db.wal_checkpoints import WalCheckpointer
from handlers.errors import on_error
from handlers.routers import describe, setup_routers

log = logging.getLogger("bot")
# getUpdates long-polls for 25 s; longer than this without an answer means polling is stuck.
POLL_SILENCE = 120.0
LEADERSHIP_CHECK = 10.0  # how often the polling instance checks it still holds the lock


def task_alive(task: asyncio.Task[Any]) -> HealthCheck:
    async def check() -> str | None:
        if not task.done():
            return None
        error = None if task.cancelled() else task.exception()
        return f"{task.get_name()} stopped" + (f": {error!r}" if error else "")

    return check


def make_storage(settings: Settings,
                 session_factory: async_sessionmaker[AsyncSession]) -> BaseStorage:
    """Forms survive restarts: in the database (with the update's own transaction), or in
    Redis when REDIS_URL is set (several instances share it). Redis keys carry the bot's id,
    as the database's do: another bot on the same Redis (a second shop) keeps its own forms
    for the same person."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

        return RedisStorage.from_url(settings.redis_url, key_builder=DefaultKeyBuilder(
            with_bot_id=True, with_destiny=True))
    return DatabaseStorage(session_factory)


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.telegram_api_url)
    ) if settings.telegram_api_url else AiohttpSession()
    session.middleware(CommitBeforeSpeaking())
    return Bot(settings.require_token(), session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML))


@functools.cache
def pin_response_types() -> tuple[type[Any], ...]:
    """Build aiogram's `Response[T]` once for every Bot API result type and keep it.

    `check_response` parametrizes `Response[method.__returning__]` on every call; pydantic
    caches parametrized models only weakly and the class is a reference cycle, so the first
    garbage collection after a call frees it and the next call builds it again (3-8 ms)."""
    returning = {
        cls.__returning__: None
        for cls in vars(aiogram.methods).values()
        if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod
    }
    return tuple(Response[t] for t in returning)  # type: ignore[valid-type]  # runtime types


def build_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage | None = None,
    services: Services | None = None,
    redeliveries: Redeliveries | None = None,
) -> Dispatcher:
    """A fresh Dispatcher with fresh routers: tests build one per test.

    Handlers receive `settings`, `services`, `session_factory`, `i18n` and, per update,
    `session` and `uow` (its unit of work), `after_commit`, `staff`, `client`, `lang` and
    `notices`."""
    pin_response_types()
    storage = storage or MemoryStorage()
    services = services or make_services(settings, session_factory)
    # Updates of one chat are handled one at a time (in order), so a photo and a text sent
    # together cannot race on the same form's data; different chats still run in parallel.
    # Webhook instances behind a proxy share the storage's lock (Redis); a polling instance is
    # the only one handling updates (db/locks.py Leadership), so its own lock is enough — and
    # a Redis lock left by a killed leader would stall that chat for the lock's 60 s.
    create_shared = getattr(storage, "create_isolation", None) if settings.webhook_url else None
    isolation = create_shared() if create_shared is not None else SimpleEventIsolation()
    # The FSM middleware is registered by hand after the unit of work, so reading a form's
    # state (which aiogram does for every update) happens in the update's own transaction.
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True,
                    settings=settings, session_factory=session_factory, services=services)
    # Non-staff chatter is throttled before it costs a transaction (bot/throttle.py).
    dp.update.outer_middleware(ThrottleMiddleware(settings, session_factory, i18n,
                                                  make_counter(settings, storage)))
    redeliveries = redeliveries or Redeliveries(in_order=not settings.webhook_url)
    dp.update.outer_middleware(DbSessionMiddleware(session_factory, redeliveries))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(ContextMiddleware(settings, i18n))
    dp.include_router(setup_routers(settings))
    dp.errors.register(on_error)
    run_filters_inline(dp)
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
    menus: asyncio.Task[None] | None = None
    outbox_worker: Any = None
    poller: Poller | None = None
    leadership: Leadership | None = None
    redeliveries: Redeliveries | None = None
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
        self.redeliveries = Redeliveries(in_order=not settings.webhook_url)
        self.dp = build_dispatcher(settings, self.session_factory, self.i18n,
                                   make_storage(settings, self.session_factory), self.services,
                                   self.redeliveries)
        log.info("routers:\n%s", "\n".join(describe(self.dp)))
        # The menus are set beside polling, not before it: one call per staff member (a
        # chain's dozens at Telegram's ~0.1 s each) would otherwise keep every chat waiting
        # through a restart, for menus that are already there from the last start.
        self.menus = asyncio.create_task(self._set_commands(), name="menus")

    async def _set_commands(self) -> None:
        assert self.bot and self.i18n and self.session_factory
        try:
            await set_default_commands(self.bot, self.i18n, self.settings.client_language)
            async with self.session_factory() as session:
                staff = await list_staff(session, active_only=True)
            for person in staff:
                await set_staff_commands(self.bot, self.i18n, person,
                                         person.language or self.settings.default_language)
        except TelegramAPIError as exc:  # the menus from the last start stay; the bot runs on
            log.warning("command menus not set: %s", exc)
        except Exception:  # a task of its own: nobody else would see it
            log.exception("command menus not set")

    async def start_background(self) -> None:
        """The workers and the scheduler, all of them listed here:

        * the outbox worker (client messages: Telegram first, SMS fallback);
        * the fiscal retry loop (pending receipts to the PRRO, after commit, with backoff);
        * on SQLite, the WAL checkpointer (db/wal_checkpoints.py);
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
        if (database := sqlite_file(self.settings.database_url)) is not None:
            self.background.append(asyncio.create_task(
                WalCheckpointer(database).run_forever(self._stop), name="wal-checkpoints"))
        self.scheduler = build_scheduler(self.settings, self.session_factory, self.bot,
                                         self.i18n, fiscal)
        self.scheduler.start()

    async def run_polling(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then finish the updates in hand (bot/polling.py). With
        WEB_LISTEN, the web server (health, status pages) runs beside it. Instances sharing a
        PostgreSQL take turns: one polls, the others stand by (db/locks.py)."""
        assert self.bot and self.dp and self.engine
        runner = await self._serve(await self.web_app(), self.settings.web_listen) \
            if self.settings.web_listen else None
        self.leadership = Leadership(self.engine, "polling")
        try:
            while await self.leadership.acquire(stop):
                await self._poll_while_leading(stop)
                await self.leadership.release()
        finally:
            await self.leadership.release()
            if runner is not None:
                await runner.cleanup()

    async def _poll_while_leading(self, stop: asyncio.Event) -> None:
        assert self.bot and self.dp and self.leadership and self.redeliveries
        # Another instance may have polled since this one last did: what it applied is read
        # again before this instance trusts the order of update ids (db/updates.py).
        self.redeliveries.forget()
        await self.bot.delete_webhook(drop_pending_updates=False)
        self.poller = Poller(self.dp, self.bot,
                             allowed_updates=self.dp.resolve_used_update_types())
        poll_stop = asyncio.Event()
        watch = asyncio.create_task(self._watch_leadership(stop, poll_stop))
        try:
            await self.poller.run(poll_stop)
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    async def _watch_leadership(self, stop: asyncio.Event, poll_stop: asyncio.Event) -> None:
        """Stop polling when the app stops or this instance no longer holds the lock."""
        assert self.leadership is not None
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LEADERSHIP_CHECK)
            if not stop.is_set() and not await self.leadership.held():
                break
        poll_stop.set()

    async def run_webhook(self, stop: asyncio.Event) -> None:
        """Serve WEBHOOK_URL's path on WEBHOOK_LISTEN until `stop` is set; requests in hand
        finish before the bot's session closes (bot/webhook.py)."""
        assert self.bot and self.dp
        settings = self.settings
        secret = settings.webhook_secret.get_secret_value()
        web_app = await self.web_app()
        CommitThenAckHandler(self.dp, self.bot, secret).register(
            web_app, path=webhook_path(settings.webhook_url))
        runner = await self._serve(web_app, settings.webhook_listen)
        try:
            await self.bot.set_webhook(settings.webhook_url, secret_token=secret,
                                       allowed_updates=self.dp.resolve_used_update_types())
            await stop.wait()
        finally:
            await runner.cleanup()

    async def web_app(self) -> web.Application:
        assert self.bot and self.session_factory and self.i18n
        me = await self.bot.me()
        return build_web_app(self.settings, self.session_factory, self.i18n, me.username or "",
                             self.health_checks(), heartbeats=Heartbeats(self.heartbeats()))

    def health_checks(self) -> dict[str, HealthCheck]:
        """What /healthz reports: the database, the updates (polling alive), each worker."""
        assert self.session_factory is not None
        checks: dict[str, HealthCheck] = {"database": database_check(self.session_factory),
                                          "updates": self._updates_alive}
        for task in self.background:
            checks[task.get_name()] = task_alive(task)
        return checks

    def heartbeats(self) -> dict[str, LastBeat]:
        """The workers whose last heartbeat /healthz reports (and fails on when too old)."""
        beats: dict[str, LastBeat] = {}
        if self.outbox_worker is not None:
            worker = self.outbox_worker
            beats["outbox"] = lambda: worker.last_beat
        if self.background and self.services is not None:
            fiscalizer = self.services.fiscal_runtime.fiscalizer
            beats["fiscal"] = lambda: fiscalizer.last_beat
        return beats

    async def _updates_alive(self) -> str | None:
        if self.settings.webhook_url or self.poller is None:
            return None  # webhook: this very server receives them; or standing by
        last = self.poller.last_poll_ok
        quiet = asyncio.get_running_loop().time() - last if last is not None else None
        if quiet is None or quiet > POLL_SILENCE:
            return f"no answer to getUpdates for {quiet or 0:.0f} s"
        return None

    @staticmethod
    async def _serve(web_app: web.Application, listen: str) -> web.AppRunner:
        runner = web.AppRunner(web_app, shutdown_timeout=55, access_log=None)
        await runner.setup()
        host, port = host_port(listen)
        await web.TCPSite(runner, host, port).start()
        return runner

    async def stop(self) -> None:
        if self.menus is not None:
            self.menus.cancel()
            await asyncio.gather(self.menus, return_exceptions=True)
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


def settle_heap() -> None:
    """Move what start-up made (~290,000 objects: modules, models, the router tree) out of
    the garbage collector's reach, and switch the collector on (`python -m bot` starts with it
    off: bot/__main__.py). Otherwise every full collection walks all of it again (0.15–0.7 s
    each on a small machine), a pause that lands on whichever update is running; the objects
    live as long as the process anyway.

    No collection first: it would cost the same 0.2 s on the way to the first getUpdates, to
    free the few thousand objects of cycles start-up leaves (~1 MB), which the freeze keeps."""
    gc.freeze()
    gc.enable()


async def run(settings: Settings) -> None:
    """`python -m bot`: until SIGTERM or SIGINT, which finish the updates in hand, stop the
    workers and close every client."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = Application(settings)
    try:
        await app.start()
        await app.start_background()
        assert app.bot is not None and app.engine is not None
        me = await app.bot.get_me()
        log.info("bot @%s started (database %s)", me.username,
                 app.engine.url.render_as_string())
        settle_heap()
        if settings.webhook_url:
            await app.run_webhook(stop)
        else:
            await app.run_polling(stop)
    finally:
        await app.stop()
        log.info("stopped")
