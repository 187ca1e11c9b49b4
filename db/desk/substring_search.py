"""Search inside clients' names and devices' serials ("contains") that an index serves.

A master types part of a surname, or the part of an IMEI they can read off a sticker; both
are matched anywhere inside. As `LIKE '%…%'` alone that is a scan of every client or device:
~100 ms at chain size (100,000 clients, 150,000 devices) for a serial or a name nobody has.
Migration 0011 adds trigram indexes, which serve text of TRIGRAM_MIN characters or more:

* PostgreSQL: pg_trgm's GIN indexes on `clients.search_name` and `devices.serial_norm`
  serve the `LIKE '%…%'` itself; the queries stay as they are.
* SQLite: FTS5 tables with the trigram tokenizer over the same columns (external content:
  they hold only the index, the rows stay in `clients` and `devices`), kept up to date by
  triggers whatever writes the rows. A phrase query there finds the rows that contain the
  text (`rows_containing`).

Shorter text (a two-letter name) is still matched by the scan.

These tables and indexes are the database's, not the models': Alembic's comparison and
the restore's emptiness check leave them out (`is_index_object`). A later migration that
rebuilds `clients` or `devices` on SQLite (batch mode copies the table) drops the triggers
with the old table and must create them again (migration 0011's `_sqlite_triggers`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, TableClause, column, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

TRIGRAM_MIN = 3

# The FTS5 tables of SQLite (their rowid is the client's or the device's id).
CLIENT_NAMES = table("clients_search", column("rowid"), column("search_name"))
DEVICE_SERIALS = table("devices_search", column("rowid"), column("serial_norm"))
FTS_TABLES = (CLIENT_NAMES.name, DEVICE_SERIALS.name)
# The GIN indexes of PostgreSQL.
TRGM_INDEXES = ("ix_clients_search_name_trgm", "ix_devices_serial_norm_trgm")


def served_by_index(session: AsyncSession, text: str) -> bool:
    """Whether a search for `text` should go through SQLite's FTS5 tables (PostgreSQL's
    indexes are used by the LIKE itself)."""
    return len(text) >= TRIGRAM_MIN and session.get_bind().dialect.name == "sqlite"


def rows_containing(fts: TableClause, text: str, limit: int | None = None) -> Select[Any]:
    """The ids of the rows whose indexed column contains `text` (≥ TRIGRAM_MIN characters),
    newest first: an FTS5 phrase of the trigram tokenizer matches a substring, case folded;
    the text is quoted, so nothing in it is query syntax."""
    phrase = '"' + text.replace('"', '""') + '"'
    query = (select(fts.c.rowid).where(literal_column(fts.name).op("MATCH")(phrase))
             .order_by(fts.c.rowid.desc()))
    return query if limit is None else query.limit(limit)


def id_in(id_column: QueryableAttribute[int], fts: TableClause, text: str, limit: int | None = None
          ) -> ColumnElement[bool]:
    return id_column.in_(rows_containing(fts, text, limit).scalar_subquery())


def is_index_object(name: str | None, type_: str) -> bool:
    """An FTS5 table (or one of its shadow tables) or a trigram index: part of an index,
    not of the data the models declare."""
    if not name:
        return False
    if type_ == "table":
        return any(name == fts or name.startswith(f"{fts}_") for fts in FTS_TABLES)
    return type_ == "index" and name in TRGM_INDEXES
