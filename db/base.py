"""Declarative base, naming convention and column helpers shared by all models."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String, TypeDecorator
from sqlalchemy.engine import CursorResult, Dialect, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """Enums stored as plain strings with a CHECK: portable and readable in SQL."""
    return Enum(
        cls, name=name, native_enum=False, length=20,
        values_callable=lambda e: [m.value for m in e], create_constraint=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BilingualName:
    """Names the owner edits in both languages (statuses, device and payment types)."""

    name_ru: Mapped[str] = mapped_column(String(64))
    name_uk: Mapped[str] = mapped_column(String(64))

    def title(self, lang: str) -> str:
        return self.name_uk if lang == "uk" else self.name_ru


def utcnow() -> datetime:
    return datetime.now(UTC)


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (0 when the driver reports none).

    `AsyncSession.execute` is typed to return `Result`, but for DML it is a `CursorResult`,
    the class that has `rowcount`; the cast says so once, here."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def upsert_insert(session: AsyncSession) -> Callable[[Any], Any]:
    """The dialect's INSERT with ON CONFLICT for the session's database. Imported on use: the
    PostgreSQL dialect module costs ~0.15 s at start-up on a SQLite shop."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
