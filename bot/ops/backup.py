"""Backups and restores of the whole database, while the bot runs.

* SQLite: the online backup API (`sqlite3.Connection.backup`, in a thread) copies every page
  in one step under one read transaction, so it is a consistent snapshot even while the bot
  writes (WAL lets writers go on meanwhile). The copy is a plain SQLite file (journal mode
  DELETE, checked with `PRAGMA quick_check`), gzip-compressed when the name ends in `.gz`.
* PostgreSQL: `pg_dump --format=custom` (one repeatable-read snapshot, compressed).

`restore` loads a backup into an EMPTY database: one with no tables, or a migrated one where
nobody has worked yet (every table outside SEEDED has no rows; a fresh `python -m bot migrate`
or a first start qualifies, an owner's /start does not — it adds a staff row). Anything else is
refused unless `force`, which replaces all the data. The schema is then migrated to head, so an
older backup works with a newer bot. Stop the bot while restoring.

The format of a file is read from its first bytes, never from its name.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ops import postgres
from bot.ops.errors import BackupError
from db.desk.substring_search import is_index_object
from db.engine import create_engine, is_sqlite
from db.migrate import upgrade

# Tables a migration fills (reference data) or the bot fills for itself: rows there do not
# make a database "used".
SEEDED = frozenset({
    "alembic_version", "counters", "statuses", "status_transitions", "device_types",
    "payment_types", "settings", "message_templates", "processed_updates", "fsm_states",
})
PREFIX = "servicedesk-"
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
PGDUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int  # bytes
    seconds: float
    kind: str  # sqlite | postgresql


@dataclass(frozen=True)
class RestoreInfo:
    rows: dict[str, int]  # table -> rows, after the restore and the migration
    seconds: float


def file_name(database_url: str, now: datetime) -> str:
    """servicedesk-20260302-0330.sqlite3.gz or servicedesk-20260302-0330.dump"""
    suffix = ".sqlite3.gz" if is_sqlite(database_url) else ".dump"
    return f"{PREFIX}{now:%Y%m%d-%H%M%S}{suffix}"


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("unsupported", "an in-memory SQLite database cannot be backed up")
    return Path(database)


def _temp_beside(path: Path) -> Path:
    # Same folder: the final rename is atomic, a reader never sees half a file.
    return path.with_name(f".{path.name}.part")


def _sqlite_copy(source: Path, target: Path) -> None:
    """The snapshot into `target` (a new file), checked and standalone."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: all in one step, one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")
        check = dst.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise BackupError("failed", f"the copy failed its integrity check: {check}")
    finally:
        dst.close()
        src.close()


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, 1 << 20)


def _sqlite_backup(source: Path, target: Path) -> int:
    part = _temp_beside(target)
    plain = part.with_name(part.name + ".db")
    try:
        _sqlite_copy(source, plain)
        if target.name.endswith(".gz"):
            _gzip(plain, part)
            plain.unlink()
        else:
            plain.replace(part)
        return _publish(part, target)
    finally:
        for leftover in (plain, part):
            leftover.unlink(missing_ok=True)


def _publish(part: Path, target: Path) -> int:
    part.replace(target)
    return target.stat().st_size


async def backup(database_url: str, target: Path) -> BackupInfo:
    """Write a consistent snapshot of the database to `target` (replaced if it exists)."""
    started = time.perf_counter()
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    if is_sqlite(database_url):
        size = await asyncio.to_thread(_sqlite_backup, _sqlite_path(database_url), target)
        kind = "sqlite"
    else:
        part = _temp_beside(target)
        try:
            await postgres.dump(database_url, part)
            size = await asyncio.to_thread(_publish, part, target)
        finally:
            await asyncio.to_thread(part.unlink, missing_ok=True)
        kind = "postgresql"
    return BackupInfo(target, size, time.perf_counter() - started, kind)


async def backup_to_dir(database_url: str, folder: Path, keep: int, now: datetime
                        ) -> BackupInfo:
    """The daily backup: a new file named by `now`, then only the newest `keep` are kept."""
    info = await backup(database_url, folder / file_name(database_url, now))
    rotate(folder, keep)
    return info


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete our backups beyond the newest `keep` (names sort by time); returns the deleted."""
    ours = sorted(p for p in folder.glob(f"{PREFIX}*") if p.is_file()
                  and not p.name.endswith(".part"))
    doomed = ours[:-keep] if keep > 0 else ours
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


# ---- restore ------------------------------------------------------------------------------

async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in every table of the database (not the search index's own, SQLite's FTS5
    tables: they mirror clients and devices)."""
    def count(conn: Connection) -> dict[str, int]:
        names = sorted(name for name in inspect(conn).get_table_names()
                       if not is_index_object(name, "table"))
        return {name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
                for name in names}

    async with engine.connect() as conn:
        return await conn.run_sync(count)


def used_tables(counts: dict[str, int]) -> dict[str, int]:
    """The tables that make a database non-empty (see the module docstring)."""
    return {name: rows for name, rows in counts.items() if rows and name not in SEEDED}


def _kind_of(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(GZIP_MAGIC):
        with gzip.open(path, "rb") as packed:
            if packed.read(16).startswith(SQLITE_MAGIC):
                return "sqlite.gz"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError("not_a_backup", f"{path} is not a backup made by this bot")


def _sqlite_restore(source: Path, packed: bool, target: Path) -> None:
    plain = _temp_beside(target) if packed else source
    try:
        if packed:
            with gzip.open(source, "rb") as raw, plain.open("wb") as out:
                shutil.copyfileobj(raw, out, 1 << 20)
        src = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
        try:
            check = src.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise BackupError("not_a_backup", f"{source} is damaged: {check}")
            dst = sqlite3.connect(target, timeout=30)
            try:
                src.backup(dst)  # replaces the whole target database, WAL and all
            finally:
                dst.close()
        finally:
            src.close()
    finally:
        if packed:
            plain.unlink(missing_ok=True)


async def _check_target(engine: AsyncEngine, force: bool) -> None:
    used = used_tables(await table_counts(engine))
    if used and not force:
        busy = ", ".join(f"{name} ({rows})" for name, rows in sorted(used.items()))
        raise BackupError("not_empty", f"the database is not empty: {busy}; restore into an "
                          "empty database, or add --force to replace its data")


async def _drop_tables_not_in(engine: AsyncEngine, keep: set[str]) -> None:
    """Tables the archive does not have (a newer schema's): pg_restore --clean would leave
    them, and the migration to head would then trip over them."""
    async with engine.begin() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        extra = [name for name in names if name not in keep]
        if extra:
            await conn.execute(text("DROP TABLE IF EXISTS "
                                    + ", ".join(f'"{name}"' for name in extra) + " CASCADE"))


async def restore(database_url: str, source: Path, *, force: bool = False) -> RestoreInfo:
    """Load `source` into the (empty, or with `force` any) database, then migrate to head."""
    started = time.perf_counter()
    kind = _kind_of(source)
    sqlite = is_sqlite(database_url)
    if sqlite != kind.startswith("sqlite"):
        raise BackupError("wrong_kind", f"{source} is a {kind.split('.')[0]} backup but "
                          f"DATABASE_URL is {'SQLite' if sqlite else 'PostgreSQL'}")
    engine = create_engine(database_url)
    try:
        await _check_target(engine, force)
        if sqlite:
            await engine.dispose()  # no pooled connection may hold the old file open
            await asyncio.to_thread(_sqlite_restore, source, kind == "sqlite.gz",
                                    _sqlite_path(database_url))
        else:
            await _drop_tables_not_in(engine, await postgres.archive_tables(source))
            await postgres.load(database_url, source)
        from alembic.util import CommandError  # here: Alembic is not imported at start

        try:
            await upgrade(engine)
        except CommandError as exc:
            raise BackupError("newer_schema", f"the backup comes from a newer version of the "
                              f"bot ({exc}); update the bot and restore again") from None
        rows = await table_counts(engine)
    finally:
        await engine.dispose()
    return RestoreInfo(rows, time.perf_counter() - started)
