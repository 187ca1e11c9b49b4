"""The app's own web server: `GET /healthz` for operators and load balancers, and the status page
`GET /s/<token>` for clients without Telegram. Served on WEB_LISTEN in polling mode and beside
the webhook on WEBHOOK_LISTEN in webhook mode."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.views.client_notices import client_lang
from bot.views.formatting import local_date
from bot.views.status_page import StatusPage, not_found_page, render_status_page
from db.base import utcnow
from db.desk.public_status import ticket_for_public
from db.engine import READ_ONLY
from db.money.closing import amount_due
from keyboards.notify import STATUS_PREFIX

log = logging.getLogger(__name__)

# (name, check) → ok; a check returns None when healthy, else what is wrong.
HealthCheck = Callable[[], Awaitable[str | None]]
# A worker's last loop or heartbeat (UTC), None before its first.
LastBeat = Callable[[], datetime | None]
# A worker loops at least every 30 s and beats every 10 s while busy; silent longer than this,
# it is stuck.
HEARTBEAT_MAX_AGE = timedelta(minutes=2)


@dataclass
class RateLimit:
    """At most `limit` requests per `window` seconds from one address (a guessing robot gets
    429, a person reloading the page does not notice)."""

    limit: int = 30
    window: float = 60.0
    _seen: dict[str, list[float]] = field(default_factory=dict)

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._seen.get(key, []) if now - t < self.window]
        allowed = len(recent) < self.limit
        if allowed:
            recent.append(now)
        self._seen[key] = recent
        if len(self._seen) > 10_000:  # forget idle addresses
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.window}
        return allowed


def database_check(session_factory: async_sessionmaker[AsyncSession]) -> HealthCheck:
    async def check() -> str | None:
        try:
            async with session_factory(execution_options=READ_ONLY) as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database is the answer
            return f"database: {exc!r}"[:200]
        return None

    return check


@dataclass(frozen=True)
class Heartbeats:
    """The workers' last heartbeats, reported by /healthz, which fails when one is older than
    `max_age` (or missing)."""

    sources: dict[str, LastBeat]
    max_age: timedelta = HEARTBEAT_MAX_AGE
    clock: Callable[[], datetime] = utcnow

    def report(self) -> tuple[dict[str, str | None], dict[str, str]]:
        """({worker: its last beat, ISO}, {"<worker> heartbeat": what is wrong})."""
        now = self.clock()
        beats: dict[str, str | None] = {}
        problems: dict[str, str] = {}
        for name, last_beat in self.sources.items():
            beat = last_beat()
            beats[name] = beat.isoformat() if beat else None
            if beat is None:
                problems[f"{name} heartbeat"] = "no heartbeat yet"
            elif now - beat > self.max_age:
                problems[f"{name} heartbeat"] = (
                    f"no heartbeat for {(now - beat).total_seconds():.0f} s "
                    f"(limit {self.max_age.total_seconds():.0f} s)")
        return beats, problems


def build_web_app(settings: Settings, session_factory: async_sessionmaker[AsyncSession],
                  i18n: I18n, bot_username: str, checks: dict[str, HealthCheck],
                  rate_limit: RateLimit | None = None,
                  heartbeats: Heartbeats | None = None) -> web.Application:
    """`checks` and `heartbeats` make /healthz: 200 when every check passes and every worker
    beat recently, else 503; the body names each check and each worker's last beat."""
    app = web.Application()
    limiter = rate_limit or RateLimit()

    async def healthz(_request: web.Request) -> web.Response:
        problems = {name: problem for name, check in checks.items()
                    if (problem := await check()) is not None}
        report: dict[str, str] = {name: problems.get(name, "ok") for name in checks}
        body: dict[str, object] = {}
        if heartbeats is not None:
            beats, late = heartbeats.report()
            problems.update(late)
            report.update(late)
            body["heartbeats"] = beats
        body = {"status": "fail" if problems else "ok", "checks": report, **body}
        return web.json_response(body, status=503 if problems else 200)

    async def status(request: web.Request) -> web.Response:
        if not limiter.allow(request.remote or "?"):
            return web.Response(status=429, text="Too many requests")
        html = await _status_html(request.match_info["token"], settings, session_factory,
                                  i18n, bot_username)
        if html is None:
            return web.Response(status=404, text=not_found_page(), content_type="text/html")
        return web.Response(text=html, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/s/{token}", status)
    return app


async def _status_html(token: str, settings: Settings,
                       session_factory: async_sessionmaker[AsyncSession], i18n: I18n,
                       bot_username: str) -> str | None:
    async with session_factory(execution_options=READ_ONLY) as session:  # no write lock
        ticket = await ticket_for_public(session, token)
        if ticket is None:
            return None
        due = await amount_due(session, ticket.id)
    language = client_lang(ticket.client, settings)
    with i18n.context(), i18n.use_locale(language):
        page = StatusPage(
            number=ticket.number, device=ticket.device.title,
            status=ticket.status.title(language), ready=ticket.status.kind.value == "ready",
            closed=ticket.status.kind.is_closed,
            created_at_text=local_date(ticket.created_at, settings.tz, language),
            amount_due=due,
            telegram_link=f"https://t.me/{bot_username}?start={STATUS_PREFIX}{token}",
            language=language)
        return render_status_page(page, settings)


def status_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/s/{token}"
