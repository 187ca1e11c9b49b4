"""substring search

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Trigram indexes for the search inside clients' names and devices' serials
(db/desk/substring_search.py): without them a serial or a name nobody has was a scan of every
device or client (~100 ms at chain size, on both databases).

* PostgreSQL: the pg_trgm extension (contrib, trusted: the database's owner may create it)
  and GIN indexes with gin_trgm_ops on `clients.search_name` and `devices.serial_norm`. The
  downgrade drops the indexes and leaves the extension, which something else may use.
* SQLite: FTS5 tables with the trigram tokenizer, external content (`clients_search` over
  `clients.search_name`, `devices_search` over `devices.serial_norm`), filled from the rows
  there are, and triggers that keep them in step with every insert, update and delete.
"""

from __future__ import annotations

import sqlite3

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (FTS5 table or GIN index, the table, its column)
SQLITE = (("clients_search", "clients", "search_name"), ("devices_search", "devices", "serial_norm"))
POSTGRES = (("ix_clients_search_name_trgm", "clients", "search_name"),
            ("ix_devices_serial_norm_trgm", "devices", "serial_norm"))


def _sqlite_triggers(fts: str, source: str, col: str) -> list[str]:
    """An external-content FTS5 table is told of every change, with the old value for a
    delete (it keeps no copy of its own to find it by)."""
    forget = (f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col});")
    learn = f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col});"
    return [
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {source} BEGIN {learn} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {source} BEGIN {forget} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF id, {col} ON {source} BEGIN {forget} {learn} END",
    ]


def _require_trigram_tokenizer() -> None:
    """FTS5's trigram tokenizer came with SQLite 3.34 (2020): say so rather than fail on
    "no such tokenizer" (Debian 12, Ubuntu 22.04 and the Docker image have newer ones)."""
    version = tuple(int(part) for part in sqlite3.sqlite_version.split("."))
    if version < (3, 34):
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old for this bot: it needs "
                           "3.34 or newer (FTS5's trigram tokenizer, for the search)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for index, source, col in POSTGRES:
            op.execute(f"CREATE INDEX {index} ON {source} USING gin ({col} gin_trgm_ops)")
        return
    _require_trigram_tokenizer()
    for fts, source, col in SQLITE:
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({col}, content='{source}', "
                   f"content_rowid='id', tokenize='trigram')")
        for statement in _sqlite_triggers(fts, source, col):
            op.execute(statement)
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index, _source, _col in POSTGRES:
            op.execute(f"DROP INDEX IF EXISTS {index}")
        return
    for fts, _source, _col in SQLITE:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
