"""Drive the real Dispatcher with real Updates through the recording MockedBot."""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods import EditMessageText, SendMessage, SendPhoto
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_dispatcher
from bot.config import Settings
from bot.fsm_storage import DatabaseStorage
from bot.i18n import make_i18n
from bot.unit_of_work import CommitBeforeSpeaking
from tests.mocked_bot import (
    MockedBot,
    make_callback_update,
    make_document_update,
    make_message_update,
    make_photo_update,
)

OWNER_ID = 1


def test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": "42:TESTTOKEN_abcdefghijklmnopqrstuvwxyz0123",
        "owner_ids": [OWNER_ID], "shop_name": "Ремонт-Сервис", "shop_address": "Київ, Хрещатик 1",
        "shop_phone": "+380441234567", "database_url": "sqlite+aiosqlite:///:memory:",
        "sms_provider": "log",
        # Off unless a test turns it on (tests/test_handlers_abuse.py): tests and fuzzers send
        # many updates per second as one stranger, which a shop's real clients never do.
        "throttle_updates": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@functools.cache
def _redis_error(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return repr(exc)
    return None


def _require_redis(url: str) -> None:
    if (error := _redis_error(url)) is not None:
        pytest.skip(f"Redis at {url} is not reachable: {error}")


def make_test_storage(session_factory: async_sessionmaker[AsyncSession]) -> BaseStorage:
    """Redis FSM storage in the PostgreSQL pass (TEST_REDIS_URL), the database otherwise (the
    embedded default); a unique key prefix keeps tests apart on one Redis."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return DatabaseStorage(session_factory)
    from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

    _require_redis(url)

    return RedisStorage.from_url(url, key_builder=DefaultKeyBuilder(
        prefix=f"test-{uuid.uuid4().hex[:8]}"), state_ttl=600, data_ttl=600)


class Desk:
    """A chat with the bot for several users; remembers the last inline keyboards."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession],
                 settings: Settings | None = None) -> None:
        self.settings = settings or test_settings()
        self.bot = MockedBot()
        # Nothing may reach a person while the update holds uncommitted shop data.
        self.bot.session.middleware(CommitBeforeSpeaking())
        self.i18n = make_i18n(self.settings.default_language)
        self.dp: Dispatcher = build_dispatcher(self.settings, session_factory, self.i18n,
                                               make_test_storage(session_factory))
        # Every message the bot sent or edited, latest last, to find buttons to tap.
        self.messages: dict[tuple[int, int], Message] = {}
        original = self.bot.session.make_request

        async def recording(bot: Any, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
            result = await original(bot, method, timeout)
            for message in result if isinstance(result, list) else [result]:
                if isinstance(message, Message):
                    self.messages.pop((message.chat.id, message.message_id), None)
                    self.messages[(message.chat.id, message.message_id)] = message
            return result

        self.bot.session.make_request = recording  # type: ignore[method-assign]
        # What the people did: every message sent and button pressed; an album is one action.
        self.actions = 0

    async def send(self, user_id: int, text: str, **kwargs: Any) -> list[str]:
        self.actions += 1
        self.bot.clear()
        await self.dp.feed_update(self.bot, make_message_update(text, user_id=user_id, **kwargs))
        return self.bot.texts()

    async def photo(self, user_id: int, file_id: str, caption: str | None = None) -> list[str]:
        self.actions += 1
        self.bot.clear()
        await self.dp.feed_update(self.bot, make_photo_update(
            user_id=user_id, file_id=file_id, file_unique_id=f"u-{file_id}", caption=caption))
        return self.bot.texts()

    async def album(self, user_id: int, *file_ids: str) -> list[str]:
        """Photos picked together: one update each with one media_group_id, one action."""
        self.actions += 1
        self.bot.clear()
        group = uuid.uuid4().hex[:12]
        for file_id in file_ids:
            await self.dp.feed_update(self.bot, make_photo_update(
                user_id=user_id, file_id=file_id, file_unique_id=f"u-{file_id}",
                media_group_id=group))
        return self.bot.texts()

    async def document(self, user_id: int, file_id: str) -> list[str]:
        self.actions += 1
        self.bot.clear()
        await self.dp.feed_update(self.bot, make_document_update(
            user_id=user_id, file_id=file_id, file_unique_id=f"u-{file_id}"))
        return self.bot.texts()

    async def press(self, user_id: int, data: str, message: Message | None = None) -> list[str]:
        """A callback with any data (forged ones too) on `message` (or a dummy one)."""
        self.actions += 1
        self.bot.clear()
        if message is None:
            update = make_callback_update(data, user_id=user_id, message_id=1)
        else:
            update = make_callback_update(
                data, user_id=user_id, message_id=message.message_id,
                message_text=message.text or message.caption or "",
                reply_markup=message.reply_markup)
        await self.dp.feed_update(self.bot, update)
        return self.bot.texts()

    async def tap(self, user_id: int, label: str) -> list[str]:
        """Tap the button whose text contains `label` on the latest message in the user's chat
        that has one."""
        data, message = self.find_button(user_id, label)
        return await self.press(user_id, data, message)

    def find_button(self, chat_id: int, label: str) -> tuple[str, Message]:
        for (chat, _id), message in reversed(self.messages.items()):
            markup = message.reply_markup
            if chat != chat_id or not isinstance(markup, InlineKeyboardMarkup):
                continue
            for row in markup.inline_keyboard:
                for btn in row:
                    if label in btn.text and btn.callback_data:
                        return btn.callback_data, message
        raise AssertionError(f"no button {label!r}; seen: {self.buttons(chat_id)}")

    def buttons(self, chat_id: int) -> list[str]:
        for (chat, _id), message in reversed(self.messages.items()):
            if chat == chat_id and isinstance(message.reply_markup, InlineKeyboardMarkup):
                return [b.text for row in message.reply_markup.inline_keyboard for b in row]
        return []

    def last_text(self) -> str:
        texts = self.bot.texts()
        return texts[-1] if texts else ""

    def sent(self) -> list[Any]:
        return [m for m in self.bot.session.requests
                if isinstance(m, SendMessage | EditMessageText | SendPhoto)]
