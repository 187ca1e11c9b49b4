"""The floor to compare with: a bare aiogram bot that echoes texts and answers callbacks.

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT .venv/bin/python -m bench.echo_bot

One Dispatcher, aiogram's own polling (`start_polling`, stops on SIGTERM), no database, no
middlewares: what any bot on this machine pays for a round trip through the Bot API. The echo
carries a "ping" button so the benchmark has something to tap.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

PING = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="ping",
                                                                   callback_data="ping")]])


async def echo(message: Message) -> None:
    await message.answer(message.text or "…", reply_markup=PING)


async def pong(query: CallbackQuery) -> None:
    await query.answer()


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()
    dp.message.register(echo)
    dp.callback_query.register(pong)
    await dp.start_polling(bot)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
