"""Cached export texts of closed days (db/reports/export_days.py, migration 0009): the CSV made
from them is byte for byte the CSV made from the rows; a closed month is read without touching
the receipt lines; whatever changes what a day's rows show (a line, a ticket's master, a staff
member's or a payment type's name, the rollup's own triggers) drops that day's text or all of
them, and the export stays the rows' export; texts of another format or language are ignored;
the job makes them in every language an owner or manager reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from bot.views.receipts_file import CsvLines, CsvRows, csv_stamp, fill
from db.desk.models import Staff, Ticket
from db.money.models import PaymentType, Receipt, ReceiptLine
from db.reports.export_days import (
    CachedDay,
    ExportPart,
    TextKey,
    export_parts,
    export_size_of,
)
from db.reports.export_rows import export_pages, export_size
from db.reports.models import ExportDay, ReportRollup
from db.reports.periods import day_buckets, period_range
from scheduler.export_days import build_export_days, cache_days
from tests.test_report_rollups import MARCH, _build_all, _month_of_work
from tests.test_reports_support import KYIV, Shop, kyiv

I18N = make_i18n("ru")


@pytest.fixture
def ru() -> Iterator[None]:
    with I18N.context(), I18N.use_locale("ru"):
        yield


def _key(lang: str = "ru") -> TextKey:
    with I18N.context(), I18N.use_locale(lang):
        return TextKey(KYIV.key, lang, csv_stamp())


async def _march_rolled_up(session: AsyncSession) -> None:
    """March's days rolled up (the others' markers removed: fewer texts to make)."""
    await _build_all(session)
    await session.execute(delete(ReportRollup).where(or_(
        ReportRollup.lo < period_range(MARCH, KYIV)[0],
        ReportRollup.hi > period_range(MARCH, KYIV)[1])))


async def _cache_all(session: AsyncSession, key: TextKey) -> int:
    with I18N.context(), I18N.use_locale(key.lang):
        return await cache_days(session, key, CsvRows(KYIV), limit=100)


async def _csv(session: AsyncSession, folder: Path, key: TextKey, *, rows: bool = False
               ) -> tuple[bytes, int]:
    """The month's CSV (from the cached days, or from the rows only) and how many parts were
    cached days."""
    path = folder / f"march-{rows}.csv"
    parts: list[ExportPart] = []
    with I18N.context(), I18N.use_locale(key.lang):
        file = CsvLines(path, KYIV, zipped=False, member="receipts.csv")
        if rows:
            lo, hi = period_range(MARCH, KYIV)
            source: AsyncIterator[ExportPart] = export_pages(session, lo, hi, key.lang,
                                                             page_size=2)
        else:
            days = [(day.lo, day.hi) for day in day_buckets(MARCH, KYIV)]
            source = export_parts(session, key, days)

        async def kept() -> AsyncIterator[ExportPart]:
            async for part in source:
                parts.append(part)
                yield part

        await fill(file, kept(), _ignore)
        await asyncio.to_thread(file.close)
    return path.read_bytes(), sum(isinstance(p, CachedDay) for p in parts)


async def _ignore(_done: int) -> None:
    return None


async def _same_as_rows(session: AsyncSession, folder: Path, key: TextKey) -> int:
    """Asserts the CSV and the size from the texts are those from the rows; how many days
    came from texts."""
    cached, days = await _csv(session, folder, key)
    assert cached == (await _csv(session, folder, key, rows=True))[0]
    march = [(day.lo, day.hi) for day in day_buckets(MARCH, KYIV)]
    assert await export_size_of(session, key.tz, march) == await export_size(
        session, march[0][0], march[-1][1])
    return days


async def _texts(session: AsyncSession) -> set[datetime]:
    return set(await session.scalars(
        select(ReportRollup.lo).join(ExportDay, ExportDay.rollup_id == ReportRollup.id)))


async def test_csv_from_cached_days_is_the_csv_from_the_rows(
        session: AsyncSession, tmp_path: Path) -> None:
    shop = await Shop.create(session)
    await _month_of_work(shop)
    await _march_rolled_up(session)
    for lang in ("ru", "uk"):
        key = _key(lang)
        assert await _cache_all(session, key) == 31
        assert await _cache_all(session, key) == 0  # nothing left to do

        statements: list[str] = []
        sync_engine = session.bind.sync_engine  # type: ignore[union-attr]
        record = statements_into(statements)
        event.listen(sync_engine, "before_cursor_execute", record)
        try:
            cached, days = await _csv(session, tmp_path, key)
        finally:
            event.remove(sync_engine, "before_cursor_execute", record)
        assert days == 31
        assert not [s for s in statements if "receipt_lines" in s], "read from the texts"
        assert await _same_as_rows(session, tmp_path, key) == 31
        assert cached.count(b"\r\n") == 1 + 13  # the header and March's 13 lines


async def test_a_change_drops_what_it_shows(session: AsyncSession, tmp_path: Path) -> None:
    shop = await Shop.create(session)
    made = await _month_of_work(shop)
    await _march_rolled_up(session)
    key = _key()
    await _cache_all(session, key)
    every = await _texts(session)
    assert len(every) == 31

    # a line of 2 March's receipt renamed in plain SQL: 2 March's text goes
    receipt = made["receipt2"]
    assert isinstance(receipt, Receipt)
    await session.execute(update(ReceiptLine).where(ReceiptLine.receipt_id == receipt.id)
                          .values(name="Замена экрана"))
    assert every - await _texts(session) == {day_lo(2)}
    assert await _same_as_rows(session, tmp_path, key) == 30

    # the master of 9 March's ticket changed: the days its receipts were paid (9, and the
    # refund's 16) go
    ticket = made["ticket9"]
    assert isinstance(ticket, Ticket)
    await session.execute(update(Ticket).where(Ticket.id == ticket.id)
                          .values(master_id=shop.owner.id))
    assert every - await _texts(session) == {day_lo(2), day_lo(9), day_lo(16)}
    assert await _same_as_rows(session, tmp_path, key) == 28

    await _cache_all(session, key)
    await session.execute(update(Staff).where(Staff.id == shop.master.id).values(name="Пётр"))
    assert await _texts(session) == set()
    await _cache_all(session, key)
    await session.execute(update(PaymentType).where(PaymentType.id == shop.card.id)
                          .values(name_ru="Терминал"))
    assert await _texts(session) == set()
    assert await _same_as_rows(session, tmp_path, key) == 0


def statements_into(statements: list[str]) -> Callable[..., None]:
    """A cursor listener appending to `statements`."""
    def record(*args: object) -> None:
        statements.append(str(args[2]))
    return record


def day_lo(day: int) -> datetime:
    return kyiv(2026, 3, day, 0)


async def test_a_rolled_up_day_dropped_takes_its_text(session: AsyncSession,
                                                      tmp_path: Path) -> None:
    shop = await Shop.create(session)
    await _month_of_work(shop)
    await _march_rolled_up(session)
    key = _key()
    await _cache_all(session, key)
    # a receipt paid on 30 March imported now: the rollup triggers drop the day, with its text
    await shop.sale(kyiv(2026, 3, 30, 12), 4200, parts=[(shop.card, 4200, None)])
    await session.flush()
    assert day_lo(30) not in await _texts(session)
    assert await _same_as_rows(session, tmp_path, key) == 30


async def test_texts_of_another_format_or_language_are_ignored(
        session: AsyncSession, tmp_path: Path) -> None:
    shop = await Shop.create(session)
    await _month_of_work(shop)
    await _march_rolled_up(session)
    await _cache_all(session, _key("uk"))
    ru = _key("ru")
    assert await _same_as_rows(session, tmp_path, ru) == 0
    older = TextKey(ru.tz, ru.lang, "csv0-00000000")
    await _cache_all(session, older)
    assert await _same_as_rows(session, tmp_path, ru) == 0
    assert await _cache_all(session, ru) == 31  # replaces the older ones
    assert await session.scalar(select(func.count()).select_from(ExportDay)
                                .where(ExportDay.lang == "ru")) == 31
    assert await _same_as_rows(session, tmp_path, ru) == 31


async def test_the_job_keeps_texts_in_the_readers_languages(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session, session.begin():
        shop = await Shop.create(session)
        await _month_of_work(shop)
        await _march_rolled_up(session)
        await session.execute(update(Staff).where(Staff.id == shop.owner.id)
                              .values(language="uk"))
    # the owner reads Ukrainian; the master (no language, may not export) does not count
    assert await build_export_days(session_factory, KYIV, I18N, "ru") == 31
    assert await build_export_days(session_factory, KYIV, I18N, "ru") == 0
    async with session_factory() as session:
        langs = set(await session.scalars(select(ExportDay.lang).distinct()))
    assert langs == {"uk"}
