"""Apply Alembic migrations from code (at start-up, `python -m bot migrate`, tests).

Alembic (and the scripts it loads) is imported only when there is something to do: a start
on a database already at the head reads `alembic_version` and goes on (~11 MB of RSS and a
part of a second less at every start)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.desk.substring_search import is_index_object

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.MULTILINE)


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def include_object(_object: Any, name: str | None, type_: str, reflected: bool,
                   _compare_to: Any) -> bool:
    """What Alembic compares with the models: not the search indexes migration 0011 made
    outside them (SQLite's FTS5 tables, PostgreSQL's trigram indexes)."""
    return not (reflected and is_index_object(name, type_))


@cache
def script_heads() -> frozenset[str]:
    """The revisions no other revision follows, read from the version files' text (the
    `revision = "…"` / `down_revision = "…"` lines; tests compare it with Alembic's)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision", ""))
    return frozenset(revisions - parents)


async def at_head(engine: AsyncEngine) -> bool:
    """True when the database is already at the scripts' single head."""
    heads = script_heads()
    if len(heads) != 1:
        return False
    try:
        async with engine.connect() as connection:
            current = set((await connection.execute(
                text("SELECT version_num FROM alembic_version"))).scalars())
    except DBAPIError:  # no alembic_version yet: a new database
        return False
    return current == heads


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    if revision == "head" and await at_head(engine):
        return
    from alembic import command

    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def go(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        action(cfg)

    async with engine.begin() as connection:
        await connection.run_sync(go)
