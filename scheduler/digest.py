"""The owners' daily digest job: run every few minutes (e.g. every 5), it asks
db.reports.digest whether a digest is due (and claims it), then sends the day's totals and a
PNG chart of the last 14 days to every active owner. The rules — when, which day, to whom,
at most once — are db.reports.digest's; the texts are bot.views.digest's."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.views.digest import digest_caption, digest_chart, digest_text
from db.base import utcnow
from db.reports.digest import (
    DigestNumbers,
    Recipient,
    claim_due_digest,
    digest_numbers,
    digest_recipients,
)

log = logging.getLogger("scheduler.digest")

Rendered = tuple[str, bytes, str]  # text, chart PNG, chart caption


async def _collect(session_factory: async_sessionmaker[AsyncSession], settings: Settings,
                   now: datetime, day: date | None
                   ) -> tuple[DigestNumbers, list[Recipient]] | None:
    """In one transaction: claim the due digest (unless `day` is given) and read its numbers
    and recipients; None when nothing is due."""
    async with session_factory() as session, session.begin():
        if day is None:
            day = await claim_due_digest(session, now, settings.tz)
            if day is None:
                return None
        numbers = await digest_numbers(session, day, settings.tz, now)
        return numbers, await digest_recipients(session)


async def _render(numbers: DigestNumbers, lang: str, i18n: I18n) -> Rendered:
    with i18n.context(), i18n.use_locale(lang):
        text = digest_text(numbers, lang)
        png = await asyncio.to_thread(digest_chart, numbers, lang)
        return text, png, digest_caption(numbers)


async def send_daily_digest(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot, settings: Settings,
    now: datetime | None = None, *, i18n: I18n | None = None, day: date | None = None,
) -> int:
    """Send the digest to every active owner if one is due; with `day`, that day's digest
    now (a manual resend: not recorded as the scheduled one). Returns how many owners got it."""
    now = now or utcnow()
    collected = await _collect(session_factory, settings, now, day)
    if collected is None or not collected[1]:
        return 0
    numbers, recipients = collected
    if i18n is None:
        from bot.i18n import make_i18n

        i18n = make_i18n(settings.default_language)
    rendered: dict[str, Rendered] = {}
    sent = 0
    for recipient in recipients:
        lang = recipient.language or settings.default_language
        if lang not in rendered:
            rendered[lang] = await _render(numbers, lang, i18n)
        text, png, caption = rendered[lang]
        try:
            await bot.send_message(recipient.chat_id, text, parse_mode=ParseMode.HTML)
            await bot.send_photo(recipient.chat_id,
                                 BufferedInputFile(png, filename=f"digest_{numbers.day}.png"),
                                 caption=caption, parse_mode=ParseMode.HTML)
            sent += 1
        except TelegramAPIError as exc:
            log.warning("daily digest for %s not delivered to %s: %s", numbers.day,
                        recipient.chat_id, exc)
    log.info("daily digest for %s sent to %d of %d owners", numbers.day, sent, len(recipients))
    return sent
