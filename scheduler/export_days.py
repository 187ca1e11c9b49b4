"""Keeping closed days' receipts export text (db.reports.export_days), after the rollups:
every rolled-up day without a text in each language an owner or manager reads, newest first,
two days per transaction (on SQLite the transaction holds the write lock while a chain's day,
~3,000 lines, is read and formatted: ~0.1 s, so the desk waits at most that long), the
formatting in a worker thread so the bot keeps answering. A new installation's year is done
in a minute or two, once; afterwards each run finds yesterday or nothing."""

from __future__ import annotations

import asyncio
import logging
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.views.receipts_file import CsvRows, csv_stamp
from db.reports import rollups
from db.reports.export_days import TextKey, export_languages, store, uncached_days
from db.reports.export_rows import export_pages

log = logging.getLogger("scheduler.export_days")

DAYS_PER_TRANSACTION = 2


async def cache_days(session: AsyncSession, key: TextKey, rows: CsvRows,
                     limit: int = DAYS_PER_TRANSACTION) -> int:
    """Up to `limit` days' texts in the session's transaction; how many."""
    await rollups.lock_builder(session)
    days = await uncached_days(session, key, limit)
    for day in days:
        pages = [page async for page in export_pages(session, day.lo, day.hi, key.lang)]
        await store(session, day, key, await asyncio.to_thread(rows.cached, pages))
    return len(days)


async def _language(session_factory: async_sessionmaker[AsyncSession], key: TextKey,
                    rows: CsvRows) -> int:
    total = 0
    while True:
        async with session_factory() as session, session.begin():
            built = await cache_days(session, key, rows)
        total += built
        if built < DAYS_PER_TRANSACTION:
            return total
        await asyncio.sleep(0)  # other tasks (and their transactions) between two of ours


async def build_export_days(session_factory: async_sessionmaker[AsyncSession], tz: ZoneInfo,
                            i18n: I18n, default_language: str) -> int:
    """Texts for every rolled-up day that lacks one; how many were made."""
    async with session_factory() as session:
        languages = await export_languages(session, default_language)
    total = 0
    for lang in languages:
        with i18n.context(), i18n.use_locale(lang):
            key = TextKey(tz.key, lang, csv_stamp())  # the labels in this language
            total += await _language(session_factory, key, CsvRows(tz))
    if total:
        log.info("receipts export: %d day(s) cached", total)
    return total
