"""The app's web server over HTTP: /healthz and the status page for clients without Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from bot.web import (
    HEARTBEAT_MAX_AGE,
    HealthCheck,
    Heartbeats,
    RateLimit,
    build_web_app,
    database_check,
)
from db.base import utcnow
from db.desk.models import Role, Ticket
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import test_settings as make_settings
from tests.test_money_support import receipt_for

Client = TestClient[web.Request, web.Application]


async def failing() -> str | None:
    return "outbox: no heartbeat for 300 s"


@pytest.fixture
async def ticket(session_factory: async_sessionmaker[AsyncSession]) -> Ticket:
    async with session_factory() as session, session.begin():
        master = await make_staff(session, Role.MASTER)
        client = await make_client(session, name="Олена")
        ticket = await make_ticket(session, master, client, estimate=150000)
        await receipt_for(session, master, 120050, ticket)
        return ticket


async def client_for(session_factory: async_sessionmaker[AsyncSession],
                     checks: dict[str, HealthCheck] | None = None,
                     limit: RateLimit | None = None,
                     heartbeats: Heartbeats | None = None) -> Client:
    settings = make_settings(shop_address="Київ, Хрещатик 1", shop_hours="Пн-Пт 10-19")
    app = build_web_app(settings, session_factory, make_i18n("ru"), "servicedesk_test_bot",
                        checks or {"database": database_check(session_factory)}, limit,
                        heartbeats)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def http(session_factory: async_sessionmaker[AsyncSession]
               ) -> AsyncIterator[Client]:
    client = await client_for(session_factory)
    yield client
    await client.close()


async def test_health_is_ok_when_every_check_is(http: Client) -> None:
    response = await http.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_health_fails_with_the_reason(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    client = await client_for(session_factory, {"database": database_check(session_factory),
                                                "outbox": failing})
    try:
        response = await client.get("/healthz")
        assert response.status == 503
        body = await response.json()
        assert body["status"] == "fail" and body["checks"]["outbox"].startswith("outbox: no")
        assert body["checks"]["database"] == "ok"
    finally:
        await client.close()


async def test_health_reports_the_workers_heartbeats_and_fails_on_a_stale_one(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    beats: dict[str, datetime | None] = {"outbox": now - timedelta(seconds=5),
                                         "fiscal": now - timedelta(seconds=40)}
    heartbeats = Heartbeats({name: (lambda name=name: beats[name]) for name in beats},
                            clock=lambda: now)
    client = await client_for(session_factory, heartbeats=heartbeats)
    try:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.json() == {
            "status": "ok", "checks": {"database": "ok"},
            "heartbeats": {name: beat.isoformat() for name, beat in beats.items() if beat}}

        beats["fiscal"] = now - HEARTBEAT_MAX_AGE - timedelta(seconds=1)  # stuck
        response = await client.get("/healthz")
        assert response.status == 503
        body = await response.json()
        assert body["status"] == "fail"
        assert body["checks"] == {"database": "ok",
                                  "fiscal heartbeat": "no heartbeat for 121 s (limit 120 s)"}
        assert body["heartbeats"]["fiscal"] == beats["fiscal"].isoformat()

        beats["fiscal"], beats["outbox"] = now, None  # never beat: not started
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["checks"]["outbox heartbeat"] == "no heartbeat yet"
    finally:
        await client.close()


async def test_status_page_in_the_clients_language(http: Client,
                                                   ticket: Ticket) -> None:
    response = await http.get(f"/s/{ticket.public_token}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert f"Звернення №{ticket.number}" in page  # the client's language: uk by default
    assert "Apple iPhone 12" in page and "Прийнято" in page
    assert "1\u00a0200,50\u00a0₴" in page and "Хрещатик" in page and "Пн-Пт 10-19" in page
    assert f"https://t.me/servicedesk_test_bot?start=st_{ticket.public_token}" in page
    assert "Не включается" not in page  # nothing staff-only: no defect notes, no lock code


@pytest.mark.parametrize("token", ["wrong", "a" * 22, "x" * 400, "../etc/passwd"])
async def test_a_wrong_token_shows_nothing(http: Client, ticket: Ticket,
                                           token: str) -> None:
    response = await http.get(f"/s/{token}")
    assert response.status == 404
    page = await response.text()
    assert "Apple" not in page and ticket.public_token not in page


async def test_an_old_closed_ticket_shows_nothing(
    http: Client, ticket: Ticket,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        stored.closed_at = utcnow() - timedelta(days=31)
    assert (await http.get(f"/s/{ticket.public_token}")).status == 404


async def test_requests_are_rate_limited(session_factory: async_sessionmaker[AsyncSession],
                                         ticket: Ticket) -> None:
    client = await client_for(session_factory, limit=RateLimit(limit=3, window=60))
    try:
        statuses = [(await client.get(f"/s/{ticket.public_token}")).status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        await client.close()


def test_the_limit_forgets_after_the_window() -> None:
    limit = RateLimit(limit=1, window=10)
    assert limit.allow("a", now=0) and not limit.allow("a", now=5) and limit.allow("a", now=11)
