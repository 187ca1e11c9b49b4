"""The receipts export written to a file on disk page by page (never the whole file in memory).

Same columns and formats as bot.views.exports describes. What kind of file (docs/decisions.md):
- CSV up to `CSV_PLAIN_MAX` lines: a plain .csv (opens on a phone as it is);
- CSV beyond: the same .csv inside a .zip (deflate level 1: a year of a chain is ~150 MB of
  CSV, ~20 MB zipped, under Telegram's 50 MB upload limit, and compressed in ~1 s);
- XLSX up to `XLSX_LINES_MAX` lines: openpyxl write-only (it streams rows to a temporary
  file), receipt lines plus the report's sheets; beyond it the XLSX carries the report's
  sheets only and the lines come as the zipped CSV (see handlers/reports/receipts_export.py).

Formatting is the hot loop (a million lines): a receipt's shared columns are formatted once
per receipt, and money/quantity texts are memoised (prices and amounts repeat a lot).
Texts are translated when a writer is made: make it in the reader's i18n context.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.views.exports import (
    DATETIME_FORMAT,
    MONEY_FORMAT,
    QTY_FORMAT,
    Sheet,
    hryvnias,
    items,
    kind_label,
    line_headers,
    local,
    new_book,
    summary_sheets,
)
from db.money.models import ReceiptKind
from db.reports.export_days import CachedDay, ExportPart
from db.reports.export_rows import ExportReceipt
from db.reports.queries import Report

if TYPE_CHECKING:
    from openpyxl import Workbook

CSV_PLAIN_MAX = 50_000  # lines; ~7 MB of CSV
XLSX_LINES_MAX = 100_000  # lines; openpyxl writes ~this many in seconds, Excel opens it fast
ZIP_LEVEL = 1  # deflate: fastest level; CSV text still shrinks ~7×
CACHE_ZLIB_LEVEL = 6  # a cached day is compressed once and read many times: smaller is better
CSV_FORMAT = 1  # raise when CsvRows makes different text: cached days are rebuilt


Part = TypeVar("Part", contravariant=True)
Part_ = TypeVar("Part_")


class LinesFile(Protocol[Part]):
    """A file being written from parts (pages of receipts, or cached days for CSV); `write`
    and `close` may run in a worker thread."""

    path: Path
    lines: int  # lines written so far
    receipts: int
    total: int  # Σ amounts (kopecks): the period's revenue

    def write(self, part: Part) -> None: ...

    def close(self) -> None: ...


class _Tally:
    def __init__(self) -> None:
        self.lines = 0
        self.receipts = 0
        self.total = 0

    def count(self, receipt: ExportReceipt) -> None:
        self.receipts += 1
        self.lines += len(receipt.lines)
        self.total += receipt.total


class _Memo(dict[Any, str]):
    """`memo[value]`: the text for a value, made by `make` on the first miss only (a plain
    dict lookup in the hot loop: no method call per field)."""

    def __init__(self, make: Callable[[Any], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: Any) -> str:
        text = self[key] = self._make(key)
        return text


class LocalTimes:
    """"YYYY-MM-DD HH:MM:SS" in the shop's zone, for aware datetimes: what
    `local(moment, tz).strftime(...)` gives, ~4× cheaper (astimezone + formatting was the
    export's top cost). Zones change their offset only on quarter hours, so the local date
    and hour are looked up once per 15-minute block and minutes and seconds within it are
    arithmetic (a block starts at a local minute 0, 15, 30 or 45: adding < 15 never carries)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._blocks: dict[int, tuple[str, int]] = {}

    def __call__(self, moment: datetime) -> str:
        block, within = divmod(int(moment.timestamp()), 900)
        found = self._blocks.get(block)
        if found is None:
            start = datetime.fromtimestamp(block * 900, self.tz)
            found = self._blocks[block] = (start.strftime("%Y-%m-%d %H:"), start.minute)
        prefix, minute = found
        return f"{prefix}{minute + within // 60:02d}:{within % 60:02d}"


def money_text(kopecks: int) -> str:
    return format(hryvnias(kopecks), "f")  # "1200.5", "-100.11": as bot.views.exports


def qty_text(thousandths: int) -> str:
    return format(items(thousandths), "f")  # "1", "1.5", "-1"


_SPECIAL = re.compile(r'[,"\r\n]')


def quoted(value: str) -> str:
    """One CSV field as the csv module writes it (QUOTE_MINIMAL, RFC 4180)."""
    if _SPECIAL.search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


class CsvRows:
    """Receipts → CSV rows (no header), the text both the file and the cached days
    (db.reports.export_days) are made of.

    Rows are text made here rather than through csv.writer: a receipt's shared columns
    become one string once, a line is then one f-string (~4× faster for a million lines);
    `quoted` does exactly what csv.writer's QUOTE_MINIMAL does (tests read it back)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._kinds = {k: quoted(kind_label(k)) for k in ReceiptKind}
        self._text, self._money, self._qty = _Memo(quoted), _Memo(money_text), _Memo(qty_text)
        self._when = LocalTimes(tz)

    def text(self, page: Sequence[ExportReceipt]) -> tuple[str, int, int]:
        """(the rows, how many, Σ amounts): the hot loop, memo lookups and one f-string a
        line."""
        text, num, qty, kinds, when = self._text, self._money, self._qty, self._kinds, self._when
        out: list[str] = []
        total = 0
        for r in page:
            head = (f"{when(r.paid_at)},{r.receipt_id},{kinds[r.kind]},"
                    f"{r.related_receipt_id or ''},{r.ticket_number or ''},"
                    f"{text[r.master]},{text[r.cashier]},")
            tail = f",{text[r.payment_types]},{text[r.fiscal_code]}\r\n"
            out += [f"{head}{text[name]},{text[code]},{qty[quantity]},{num[price]},"
                    f"{num[amount]}{tail}" for name, code, quantity, price, amount in r.lines]
            total += r.total
        return "".join(out), len(out), total

    def cached(self, pages: Sequence[Sequence[ExportReceipt]]) -> CachedDay:
        """A day's pages as the text db.reports.export_days stores."""
        texts: list[str] = []
        receipts = lines = total = 0
        for page in pages:
            text, count, amount = self.text(page)
            texts.append(text)
            receipts, lines, total = receipts + len(page), lines + count, total + amount
        body = zlib.compress("".join(texts).encode("utf-8"), CACHE_ZLIB_LEVEL)
        return CachedDay(receipts=receipts, lines=lines, total=total, body=body)


def csv_stamp() -> str:
    """What a cached day's text depends on besides the books: this module's format and the
    translated texts in it (call in the reader's locale). A change of either makes old texts
    ignored (and rebuilt)."""
    labels = "\n".join(kind_label(k) for k in ReceiptKind)
    return f"csv{CSV_FORMAT}-{zlib.crc32(labels.encode('utf-8')):08x}"


class CsvLines(_Tally):
    """UTF-8 CSV with a BOM, CRLF rows; inside a ZIP (one member, `member`) when `zipped`.
    Written from pages of receipts (formatted here) and from cached days (copied)."""

    def __init__(self, path: Path, tz: ZoneInfo, *, zipped: bool, member: str) -> None:
        super().__init__()
        self.path = path
        self.tz = tz
        self._rows = CsvRows(tz)
        self._zip: zipfile.ZipFile | None = None
        raw: IO[bytes]
        if zipped:
            self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
            raw = self._zip.open(member, "w", force_zip64=True)
        else:
            raw = path.open("wb")
        self._out = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        self._out.write(",".join(quoted(h) for h in line_headers()) + "\r\n")

    def write(self, part: ExportPart) -> None:
        if isinstance(part, CachedDay):
            self._out.flush()  # the header's and earlier pages' text first
            self._out.buffer.write(zlib.decompress(part.body))
            self.receipts, self.lines = self.receipts + part.receipts, self.lines + part.lines
            self.total += part.total
            return
        text, lines, total = self._rows.text(part)
        self.receipts, self.lines, self.total = (self.receipts + len(part), self.lines + lines,
                                                 self.total + total)
        self._out.write(text)

    def close(self) -> None:
        self._out.close()  # closes the ZIP member (or the file) under it
        if self._zip is not None:
            self._zip.close()


class XlsxLines(_Tally):
    """Sheets: every receipt line ("Чеки"); the period's totals; a line per day (or month)."""

    def __init__(self, path: Path, tz: ZoneInfo, report: Report, lang: str) -> None:
        super().__init__()
        self.path = path
        self.tz = tz
        self.report = report
        self.lang = lang
        self._book: Workbook = new_book()
        self._sheet = Sheet(self._book, _("Чеки"))
        self._sheet.ws.freeze_panes = "A2"
        self._sheet.header(line_headers())
        self._kinds = {k: kind_label(k) for k in ReceiptKind}

    def _rows(self, r: ExportReceipt) -> list[list[object]]:
        cell = self._sheet.cell
        moment = local(r.paid_at, self.tz)
        return [[cell(moment, DATETIME_FORMAT), r.receipt_id, self._kinds[r.kind],
                 r.related_receipt_id or "", r.ticket_number or "", r.master, r.cashier,
                 name, code, cell(items(quantity), QTY_FORMAT),
                 cell(hryvnias(price), MONEY_FORMAT), cell(hryvnias(amount), MONEY_FORMAT),
                 r.payment_types, r.fiscal_code]
                for name, code, quantity, price, amount in r.lines]

    def write(self, page: Sequence[ExportReceipt]) -> None:
        for receipt in page:
            self.count(receipt)
            for row in self._rows(receipt):
                self._sheet.append(row)

    def close(self) -> None:
        summary_sheets(self._book, self.report, self.lang)
        self._book.save(self.path)


def summary_file(path: Path, report: Report, lang: str) -> None:
    """An XLSX with the report's sheets only (a period over `XLSX_LINES_MAX` lines)."""
    book = new_book()
    summary_sheets(book, report, lang)
    book.save(path)


async def fill(file: LinesFile[Part_], parts: AsyncIterator[Part_],
               progress: Callable[[int], Awaitable[None]]) -> None:
    """Parts into the file, each written in a worker thread (formatting and compression stay
    off the event loop); `progress(receipts done)` after each part.

    Not overlapped with reading the next page: both are CPU-bound Python, and a thread
    holding the GIL makes every socket wake-up of the reader wait for the switch interval
    (the convoy effect) — measured on a year: 29.5 s overlapped against the sum of the two."""
    async for part in parts:
        await asyncio.to_thread(file.write, part)
        await progress(file.receipts)
