"""Webhook mode: Telegram posts updates to WEBHOOK_URL; the app answers only after the update's
transaction committed, so a crash makes Telegram resend it (and an update already applied is
skipped by the unit of work). A request without the right X-Telegram-Bot-Api-Secret-Token
gets 401 and executes nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

log = logging.getLogger(__name__)


class CommitThenAckHandler(SimpleRequestHandler):
    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str,
                 **data: Any) -> None:
        if not secret_token:  # SimpleRequestHandler accepts any request without one
            raise ValueError("a webhook needs a secret token")
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token,
                         **data)
        self._in_hand: set[asyncio.Task[Any]] = set()

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        # Not dispatcher.feed_webhook_update: after 55 s it answers {} and lets the handler go
        # on, which would confirm an update before its commit.
        update = Update.model_validate(await request.json(loads=bot.session.json_loads),
                                       context={"bot": bot})
        task = asyncio.current_task()
        if task is not None:
            self._in_hand.add(task)
        try:
            result = await self.dispatcher.feed_update(bot, update, **self.data)
        except Exception:  # not handled: rolled back, so let Telegram deliver it again
            log.exception("update %s failed; answering 500", update.update_id)
            return web.Response(status=500)
        finally:
            if task is not None:
                self._in_hand.discard(task)
        method = result if isinstance(result, TelegramMethod) else None
        return web.Response(body=self._build_response_writer(bot=bot, result=method))

    async def close(self) -> None:
        """aiohttp runs on_shutdown before it waits for requests in hand: let those finish
        (and commit) before the bot's session closes."""
        if self._in_hand:
            await asyncio.wait(self._in_hand, timeout=50)
        await super().close()


def webhook_path(url: str) -> str:
    """The path part of WEBHOOK_URL ("/" when it has none)."""
    return "/" + url.split("://", 1)[-1].partition("/")[2]


def host_port(listen: str, default_port: int = 8080) -> tuple[str, int]:
    host, _sep, port = listen.rpartition(":")
    return host or "0.0.0.0", int(port or default_port)
