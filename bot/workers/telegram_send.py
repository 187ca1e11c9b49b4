"""Sending one outbox message through aiogram and sorting Telegram's answer into what to do next."""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from db.notify.models import MediaKind
from db.notify.outbox import Buttons, OutboxItem

logger = logging.getLogger("bot.notifications")

# 400s that mean "this chat is gone", not "this message is malformed".
_GONE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")


class TgOutcome(enum.Enum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # 429: try the same chat later
    UNREACHABLE = "unreachable"  # 403 blocked/deactivated, chat not found: SMS, unlink chat
    REJECTED = "rejected"  # this message will never pass (bad markup, file): SMS
    TRANSIENT = "transient"  # network, 5xx, timeouts, token trouble: retry with backoff


@dataclass(frozen=True)
class TgResult:
    outcome: TgOutcome
    message_id: str | None = None
    error: str | None = None
    retry_after: float = 0.0


def markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton.model_validate(button) for button in row] for row in buttons
    ])


async def send_telegram(
    bot: Bot, item: OutboxItem, chat_id: int, request_timeout: float,
) -> TgResult:
    """One attempt. Never raises for Telegram or network trouble (cancellation passes)."""
    keyboard = markup(item.buttons)
    # parse_mode is passed explicitly so a bot-wide default (e.g. HTML) never garbles a
    # plain-text template containing "<" or "&".
    try:
        async with asyncio.timeout(request_timeout + 5):
            if item.media_kind == MediaKind.PHOTO:
                sent = await bot.send_photo(
                    chat_id=chat_id, photo=item.media_ref or "", caption=item.text or None,
                    parse_mode=item.parse_mode, reply_markup=keyboard,
                    request_timeout=int(request_timeout),
                )
            elif item.media_kind == MediaKind.DOCUMENT:
                sent = await bot.send_document(
                    chat_id=chat_id, document=item.media_ref or "", caption=item.text or None,
                    parse_mode=item.parse_mode, reply_markup=keyboard,
                    request_timeout=int(request_timeout),
                )
            else:
                sent = await bot.send_message(
                    chat_id=chat_id, text=item.text, parse_mode=item.parse_mode,
                    reply_markup=keyboard,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    request_timeout=int(request_timeout),
                )
    except TelegramRetryAfter as exc:
        return TgResult(TgOutcome.RETRY_AFTER, error=f"telegram 429: retry after "
                        f"{exc.retry_after}s", retry_after=float(exc.retry_after))
    except TelegramForbiddenError as exc:
        return TgResult(TgOutcome.UNREACHABLE, error=f"telegram 403: {exc.message}")
    except TelegramBadRequest as exc:
        gone = any(marker in exc.message.lower() for marker in _GONE)
        return TgResult(TgOutcome.UNREACHABLE if gone else TgOutcome.REJECTED,
                        error=f"telegram 400: {exc.message}")
    except (TelegramEntityTooLarge, TelegramMigrateToChat) as exc:
        return TgResult(TgOutcome.REJECTED, error=f"telegram: {exc.message}")
    except TelegramAPIError as exc:  # network, 5xx, 401/404 (token/URL), conflicts
        return TgResult(TgOutcome.TRANSIENT, error=f"telegram: {type(exc).__name__}: "
                        f"{exc.message}")
    except (AiogramError, TimeoutError, OSError) as exc:
        return TgResult(TgOutcome.TRANSIENT, error=f"telegram: {type(exc).__name__}: {exc}")
    return TgResult(TgOutcome.SENT, message_id=str(sent.message_id))
