"""Reading a client base file: CSV (`;`, `,` or tab; UTF-8 with or without BOM, or cp1251) or
XLSX (the first sheet) → rows of fields by header (bot.ops.import_headers) → the domain's
parse (db.desk.import_rows). The format is told by the content, not by the file's name."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.ops.import_headers import Columns, map_headers
from db.desk.import_rows import ParsedFile, SourceRow, parse_rows

MAX_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram, and plenty for 100k rows
EXTENSIONS = (".csv", ".tsv", ".xlsx")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97-2003)


class ImportFileError(Exception):
    """`code`: too_large, xls, unreadable, no_header, no_phone_column."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


@dataclass
class LoadedFile:
    columns: Columns
    parsed: ParsedFile


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped) or, failing that, cp1251 (Excel's "CSV" on a Windows in UA)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def delimiter(text: str) -> str:
    """The delimiter most used in the first non-blank line; `;` wins a tie (Excel's choice
    where the decimal separator is a comma)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    best = max(counts.values())
    return ";" if counts[";"] == best else max(counts, key=lambda d: counts[d])


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    for row in reader:
        yield reader.line_num, row


def cell_text(value: Any) -> str:
    """A spreadsheet cell as a person would read it (a phone typed as a number stays one)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike
        raise ImportFileError("unreadable", f"not a readable .xlsx file: {exc}") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(v) for v in values]
    finally:
        book.close()


def table_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number in the file, cells) for every row."""
    if len(data) > MAX_BYTES:
        raise ImportFileError("too_large", f"the file is over {MAX_BYTES // 2**20} MB")
    if data.startswith(_OLE_MAGIC):
        raise ImportFileError("xls", "old Excel .xls: save it as .xlsx or .csv")
    if data.startswith(_XLSX_MAGIC):
        return _xlsx_rows(data)
    if b"\x00" in data[:4096]:
        raise ImportFileError("unreadable", "not a CSV or XLSX file")
    return _csv_rows(data)


def load(data: bytes, region: str = "UA") -> LoadedFile:
    """Read and validate a whole file (nothing touches the database)."""
    rows = table_rows(data)
    for _number, header in rows:
        if any(cell.strip() for cell in header):
            break
    else:
        raise ImportFileError("no_header", "the file is empty")
    columns = map_headers(header)
    if "phone" not in columns.headers:
        raise ImportFileError("no_phone_column", "no phone column among: "
                              + ", ".join(h for h in header if h.strip()))

    def source() -> Iterator[SourceRow]:
        for number, cells in rows:
            yield SourceRow(number, {name: cells[index] for index, name in
                                     columns.fields.items() if index < len(cells)})

    return LoadedFile(columns, parse_rows(source(), region))


def load_path(path: Path, region: str = "UA") -> LoadedFile:
    return load(path.read_bytes(), region)
