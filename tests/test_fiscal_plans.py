"""The fiscal queue finds its few pending receipts among many without reading them all: on
SQLite its statements are planned on the partial index ix_receipts_fiscal_due (migration 0010),
and they still claim exactly the due receipts, oldest money first. No timing assertions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.generate import generate
from db.engine import create_engine, create_session_factory
from db.fiscal import queue
from db.fiscal.queue import FiscalKind
from db.money.models import FiscalState, Receipt, ReceiptKind, ReceiptStatus
from tests.conftest import backend_name

NOW = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)
DUE = 3


async def _pending(factory: async_sessionmaker[AsyncSession]) -> list[int]:
    """DUE paid sales among the generated receipts made pending, due an hour ago."""
    async with factory() as s, s.begin():
        ids = list(await s.scalars(
            select(Receipt.id).where(Receipt.status == ReceiptStatus.PAID,
                                     Receipt.kind == ReceiptKind.SALE)
            .order_by(Receipt.id.desc()).limit(DUE)))
        await s.execute(update(Receipt).where(Receipt.id.in_(ids)).values(
            fiscal_state=FiscalState.PENDING, fiscal_updated_at=NOW - timedelta(hours=1)))
        if backend_name() == "sqlite":  # statistics as a shop's database has them
            await (await s.connection()).exec_driver_sql("ANALYZE")
    return ids


class Statements:
    """The queue's searches of receipts by fiscal state, with their parameters."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, _conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        where = sql.partition("WHERE")[2]
        if sql.lstrip().startswith("SELECT") and "receipts.fiscal_state" in where:
            self.seen.append((sql, params))


def _by_state(step: str) -> bool:
    """A plan step that reads only pending receipts: the partial index, or a search by state
    (not a scan of all receipts in paid_at order, nor of the table)."""
    return step.startswith(("SEARCH receipts ", "SCAN receipts ")) and (
        "ix_receipts_fiscal_due" in step or "(fiscal_state=?)" in step)


async def test_the_queue_reads_only_its_pending_receipts(db_url: str) -> None:
    await generate(db_url, 0.002, 3, NOW, quiet=True)
    engine = create_engine(db_url)
    factory = create_session_factory(engine)
    try:
        ids = await _pending(factory)
        statements = Statements()
        event.listen(engine.sync_engine, "before_cursor_execute", statements)
        async with factory() as s:
            due_at = await queue.next_due_at(s)
            jobs = await queue.claim_due(s, NOW)
            await s.rollback()
        event.remove(engine.sync_engine, "before_cursor_execute", statements)
        assert due_at == NOW - timedelta(hours=1)
        assert sorted(j.row_id for j in jobs if j.kind == FiscalKind.RECEIPT) == sorted(ids)
        assert len(statements.seen) == 2
        if backend_name() == "sqlite":
            async with engine.connect() as conn:
                for sql, params in statements.seen:
                    plan = [row[-1] for row in await conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + sql, params)]
                    assert any(_by_state(step) for step in plan), plan
    finally:
        await engine.dispose()
