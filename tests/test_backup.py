"""Backups while the bot writes, restores into empty databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.ops.backup import backup, backup_to_dir, restore, rotate, table_counts
from bot.ops.errors import BackupError
from bot.ops.postgres import libpq_target
from db.base import utcnow
from db.desk.models import AuditEntry, Role, Staff
from db.engine import create_engine, create_session_factory, is_sqlite
from db.money.models import Payment, Receipt, ReceiptStatus
from db.money.payments import pay_receipt
from tests.factories import make_staff, make_ticket
from tests.test_money_support import cash_type, receipt_for

SEED = 30  # paid tickets before the backup starts
BULK = 40_000  # audit rows, so the backup takes long enough for writes to land meanwhile

State = tuple[tuple[tuple[str, int], ...], int, int]


async def _state(engine: AsyncEngine) -> State:
    """Every table's row count and the money totals (paid receipts, payments)."""
    counts = await table_counts(engine)
    async with engine.connect() as conn:
        receipts = await conn.scalar(select(func.coalesce(func.sum(Receipt.total), 0))
                                     .where(Receipt.status == ReceiptStatus.PAID))
        payments = await conn.scalar(select(func.coalesce(func.sum(Payment.amount), 0)))
    return tuple(sorted(counts.items())), int(receipts or 0), int(payments or 0)


async def _paid_ticket(factory: async_sessionmaker[AsyncSession], staff_id: int,
                       price: int) -> None:
    """One desk transaction: a client, a device, a ticket, a receipt and its cash payment."""
    async with factory() as session, session.begin():
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        ticket = await make_ticket(session, staff)
        receipt = await receipt_for(session, staff, price, ticket)
        await pay_receipt(session, staff, receipt.id, [((await cash_type(session)).id, price,
                                                        None)])


async def test_backup_under_writes_restores_a_consistent_snapshot(
        db_url: str, empty_db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        staff_id = (await make_staff(session, Role.MASTER)).id
    for n in range(SEED):
        await _paid_ticket(factory, staff_id, 10_000 + n)
    async with factory() as session, session.begin():
        await session.execute(insert(AuditEntry), [
            {"staff_id": staff_id, "action": "test.bulk", "entity": "client", "entity_id": n,
             "data": {"note": f"history line {n} " + "x" * 300}, "created_at": utcnow()}
            for n in range(BULK)])

    states = [await _state(engine)]  # the database after each commit of the writer
    first_commit = asyncio.Event()
    stop = asyncio.Event()
    during: list[int] = []

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            await _paid_ticket(factory, staff_id, 50_000 + n)
            n += 1
            states.append(await _state(engine))
            first_commit.set()
            if backing_up:
                during.append(n)

    backing_up = False
    task = asyncio.create_task(writer())
    try:
        await first_commit.wait()
        name = "b.sqlite3.gz" if is_sqlite(db_url) else "b.dump"
        backing_up = True
        info = await backup(db_url, tmp_path / name)
        backing_up = False
    finally:
        stop.set()
        await task
    final = await _state(engine)
    await engine.dispose()

    started = time.perf_counter()
    restored = await restore(empty_db_url, info.path)
    restore_seconds = time.perf_counter() - started
    target = create_engine(empty_db_url)
    try:
        snapshot = await _state(target)
    finally:
        await target.dispose()

    # The snapshot is the database as it was after one of the writer's commits: whole
    # transactions only, every table and the money agreeing with each other.
    assert snapshot in states
    tables, receipts_total, payments_total = snapshot
    assert receipts_total == payments_total > 0
    assert dict(tables)["tickets"] >= SEED
    assert len(states) >= 2 and final == states[-1]
    assert sum(restored.rows.values()) == sum(rows for _t, rows in tables)
    print(f"\n[backup {info.kind}] {info.size} bytes in {info.seconds:.2f} s, restore "
          f"{restore_seconds:.2f} s; {len(tables)} tables, {sum(r for _t, r in tables)} rows "
          f"compared (snapshot after commit {states.index(snapshot)} of {len(states) - 1}, "
          f"{len(during)} commits while the backup ran); money {receipts_total} kop.")


async def test_restore_refuses_a_used_database_unless_forced(db_url: str, tmp_path: Path
                                                            ) -> None:
    engine = create_engine(db_url)
    factory = create_session_factory(engine)
    try:
        name = "fresh.sqlite3" if is_sqlite(db_url) else "fresh.dump"
        fresh = await backup(db_url, tmp_path / name)  # migrated, nobody worked: "empty"
        await restore(db_url, fresh.path)  # a migrated, unused database takes it
        async with factory() as session, session.begin():
            await make_staff(session, Role.OWNER)
        with pytest.raises(BackupError) as refused:
            await restore(db_url, fresh.path)
        assert refused.value.code == "not_empty" and "staff (1)" in refused.value.detail
        await restore(db_url, fresh.path, force=True)
        async with factory() as session:
            assert await session.scalar(select(func.count()).select_from(Staff)) == 0
    finally:
        await engine.dispose()


async def test_restore_refuses_a_backup_of_the_other_kind(db_url: str, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_bytes(b"PGDMP\x01\x0e" if is_sqlite(db_url) else b"SQLite format 3\x00" * 8)
    with pytest.raises(BackupError) as info:
        await restore(db_url, other)
    assert info.value.code == "wrong_kind"
    junk = tmp_path / "junk"
    junk.write_bytes(b"name;phone\n")
    with pytest.raises(BackupError) as info:
        await restore(db_url, junk)
    assert info.value.code == "not_a_backup"


async def test_daily_backups_keep_the_newest(db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    folder = tmp_path / "backups"
    start = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    for day in range(4):
        await backup_to_dir(db_url, folder, 2, start + timedelta(days=day))
    (folder / "notes.txt").write_text("not ours")
    names = sorted(p.name for p in folder.glob("servicedesk-*"))
    assert [n[:20] for n in names] == ["servicedesk-20260303", "servicedesk-20260304"]
    assert rotate(folder, 1) == [folder / names[0]]
    assert (folder / "notes.txt").exists()


def test_libpq_target_keeps_the_password_off_the_command_line() -> None:
    url, env = libpq_target("postgresql+asyncpg://shop:s3cr%40t@db.local:5433/desk?ssl=require")
    assert url == "postgresql://shop@db.local:5433/desk?sslmode=require"
    assert env["PGPASSWORD"] == "s3cr@t"
