"""Operators' logs: one JSON object per line with the update id, the user and the incident code
of an unexpected error, and the person gets that code."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import logs
from db.desk.models import Role
from tests.factories import make_staff
from tests.handler_kit import OWNER_ID, Desk


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("bot.errors")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


async def test_an_unexpected_error_is_logged_with_the_update_and_an_incident_code(
    session_factory: async_sessionmaker[AsyncSession], json_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with session_factory() as session, session.begin():
        await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID)
    desk = Desk(session_factory)

    async def broken(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("handlers.tickets.ticket_card_by_number", broken)
    [text] = await desk.send(OWNER_ID, "/ticket 5")
    [line] = [json.loads(x) for x in json_log.getvalue().splitlines()]
    assert line["level"] == "ERROR" and line["user_id"] == OWNER_ID
    assert isinstance(line["update_id"], int) and "disk on fire" in line["exception"]
    assert len(line["incident"]) == 6 and line["incident"] in text
    assert "ничего не сохранено" in text


def test_text_lines_carry_the_context() -> None:
    formatter = logs.TextFormatter()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with logs.scope(update_id=7, user_id=42):
        logs.bind(ticket=12)
        logs.ContextFilter().filter(record)
    assert formatter.format(record).endswith("x [update_id=7 user_id=42 ticket=12]: hello")
