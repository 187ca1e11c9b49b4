"""The receipts export after the update's commit: one status message with a percentage, the
rows streamed page by page from a read-only session into a file on disk, the file sent, the
temporary folder removed.

Why this shape: a year of a chain is ~1,000,000 lines. Building it in the update's
transaction held SQLite's write lock for tens of seconds and ~1.5 GB of memory. Here the
update only checks there is something to export and commits; this job reads through its own
read-only session (no write lock: the desk keeps working), writes each page in a worker
thread (bot.views.receipts_file.fill), and keeps the owner informed by editing one
message at most every `PROGRESS_EVERY` seconds (Telegram rate-limits edits).

A CSV is mostly copied: the closed days' text is cached by the scheduler
(db.reports.export_days), so a chain's year is ~4 s instead of ~25 s; the days without a
text (today, days changed since) are read from the rows.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiogram.exceptions import TelegramAPIError
from aiogram.types import FSInputFile, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import logs
from bot.config import Settings
from bot.views.exports import filename
from bot.views.formatting import money
from bot.views.receipts_file import (
    CSV_PLAIN_MAX,
    XLSX_LINES_MAX,
    CsvLines,
    XlsxLines,
    csv_stamp,
    fill,
    summary_file,
)
from db.engine import READ_ONLY, DbSession, DbSessionFactory
from db.reports.export_days import TextKey, export_parts, export_size_of
from db.reports.export_rows import ExportSize, export_pages
from db.reports.periods import Period, day_buckets
from db.reports.queries import Report, period_report
from handlers.errors import incident_code
from handlers.reports.render import period_title
from keyboards.reports import ExportFormat

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0  # seconds between edits of the status message
UPLOAD_MAX = 50 * 1024 * 1024  # what Telegram accepts from a bot
XLSX_DAY_LINES_MAX = 92  # XLSX: a sheet line per day up to this many days, per month beyond


class Progress:
    """The one status message: edited when the text changes and the last edit is old enough."""

    def __init__(self, message: Message, clock: Callable[[], float] = time.monotonic) -> None:
        self.message = message
        self.total = 0
        self._clock = clock
        self._text = message.text or ""
        self._at = clock()

    async def show(self, done: int) -> None:
        if self._clock() - self._at < PROGRESS_EVERY:
            return
        percent = min(99, done * 100 // max(self.total, 1))  # 100 % is "готово"
        await self.say(working_text(percent))

    async def say(self, text: str) -> None:
        if text == self._text:
            return
        self._text, self._at = text, self._clock()
        try:
            await self.message.edit_text(text)
        except TelegramAPIError:  # a lost progress edit must not fail the export
            log.info("export status edit failed", exc_info=True)


def grouped(number: int) -> str:
    return f"{number:,}".replace(",", "\u00a0")  # 100 000: digits grouped as people write


def working_text(percent: int) -> str:
    return _("📤 Готовлю выгрузку… {percent} %").format(percent=percent)


@dataclass(frozen=True, slots=True)
class Plan:
    """What goes out: the main file, and for XLSX over the limit also the lines as CSV."""

    lines: CsvLines | XlsxLines
    summary: Path | None  # the XLSX with the report's sheets only, when the lines don't fit


@dataclass(frozen=True, slots=True)
class ReceiptsExport:
    """The after-commit job (`await job()`), in the reader's language."""

    message: Message  # where the status and the file go (the chat of the tap)
    period: Period
    fmt: ExportFormat
    lang: str
    settings: Settings
    i18n: I18n
    session_factory: DbSessionFactory

    async def __call__(self) -> None:
        with self.i18n.context(), self.i18n.use_locale(self.lang):
            status = await self.message.answer(working_text(0))
            progress = Progress(status)
            folder = Path(tempfile.mkdtemp(prefix="receipts-export-"))
            try:
                await self._run(progress, folder)
            except Exception:
                await self._failed(progress)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

    async def _failed(self, progress: Progress) -> None:
        code = incident_code()
        with logs.scope(**{**logs.current(), "incident": code}):
            log.exception("receipts export %s failed, incident %s", self.period, code)
        await progress.say(_("⚠️ Выгрузка не удалась. Попробуйте ещё раз; если повторится — "
                             "сообщите код {code}.").format(code=code))

    async def _run(self, progress: Progress, folder: Path) -> None:
        days = [(day.lo, day.hi) for day in day_buckets(self.period, self.settings.tz)]
        async with self.session_factory(execution_options=READ_ONLY) as session:
            size = await export_size_of(session, self.settings.tz.key, days)
            progress.total = size.receipts
            plan = await self._plan(session, folder, size)
            await self._fill(session, plan.lines, days, progress)
        await asyncio.to_thread(plan.lines.close)
        await self._deliver(plan, progress)

    async def _fill(self, session: DbSession, file: CsvLines | XlsxLines,
                    days: list[tuple[datetime, datetime]], progress: Progress) -> None:
        """CSV from the closed days' cached texts and the other days' rows; XLSX (at most
        `XLSX_LINES_MAX` lines) from the rows."""
        if isinstance(file, XlsxLines):
            await fill(file, export_pages(session, days[0][0], days[-1][1], self.lang),
                       progress.show)
            return
        key = TextKey(self.settings.tz.key, self.lang, csv_stamp())
        await fill(file, export_parts(session, key, days), progress.show)

    async def _plan(self, session: DbSession, folder: Path, size: ExportSize) -> Plan:
        if self.fmt == ExportFormat.XLSX and size.lines <= XLSX_LINES_MAX:
            report = await self._report(session)
            return Plan(XlsxLines(folder / self._name("xlsx"), self.settings.tz, report,
                                  self.lang), None)
        lines = self._csv(folder, size)
        if self.fmt == ExportFormat.CSV:
            return Plan(lines, None)
        # XLSX over the limit: the report's sheets as XLSX, the lines as CSV beside it.
        summary = folder / self._name("xlsx")
        await asyncio.to_thread(summary_file, summary, await self._report(session), self.lang)
        return Plan(lines, summary)

    def _csv(self, folder: Path, size: ExportSize) -> CsvLines:
        member = self._name("csv")
        zipped = size.lines > CSV_PLAIN_MAX
        path = folder / (self._name("zip") if zipped else member)
        return CsvLines(path, self.settings.tz, zipped=zipped, member=member)

    async def _report(self, session: DbSession) -> Report:
        unit = "day" if self.period.days <= XLSX_DAY_LINES_MAX else "month"
        return await period_report(session, self.period, self.settings.tz, unit=unit)

    def _name(self, ext: str) -> str:
        return filename("receipts", self.period.start, self.period.end, ext)

    async def _deliver(self, plan: Plan, progress: Progress) -> None:
        files = [p for p in (plan.summary, plan.lines.path) if p is not None]
        too_big = max(p.stat().st_size for p in files)
        if too_big > UPLOAD_MAX:
            await progress.say(_(
                "⚠️ Файл получился {size} МБ, а Telegram принимает от бота до 50 МБ. "
                "Выберите период короче.").format(size=too_big // (1024 * 1024)))
            return
        caption = self._caption(plan.lines)
        for path in files:
            await self.message.answer_document(FSInputFile(path, filename=path.name),
                                               caption=caption)
        await progress.say(self._done_text(plan))

    def _caption(self, file: CsvLines | XlsxLines) -> str:
        return _("🧾 Чеки за {period}: {receipts} чек., {lines} строк, итого {sum}").format(
            period=period_title(self.period, self.lang), receipts=file.receipts,
            lines=file.lines, sum=money(file.total, self.lang))

    def _done_text(self, plan: Plan) -> str:
        if plan.summary is None:
            return _("✅ Выгрузка готова.")
        return _("✅ Выгрузка готова. В XLSX — итоги периода; строк чеков {lines} — больше "
                 "{limit}, что XLSX удобно вмещает, поэтому они в CSV (zip).").format(
            lines=grouped(plan.lines.lines), limit=grouped(XLSX_LINES_MAX))
