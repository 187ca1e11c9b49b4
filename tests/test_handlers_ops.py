"""The owner's operations in chat, through the real Dispatcher: /backup and the client import."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from aiogram.methods import SendDocument
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ops.backup import restore, table_counts
from db.desk.models import Client, Device, Role
from db.engine import create_engine, is_sqlite
from tests.factories import make_client, make_staff
from tests.handler_kit import OWNER_ID, Desk
from tests.handler_kit import test_settings as make_settings
from tests.mocked_bot import make_document_update
from tests.test_import_clients import csv_bytes

MASTER_ID = 2
STRANGER_ID = 666
BASE = [
    ["Клиент", "Телефон", "Модель", "IMEI"],
    ["Иван Петренко", "067 123 45 67", "iPhone 12", "111"],
    ["Оля", "12345", "Redmi 9", ""],
    ["Петя", "0501234567", "", ""],
]


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession], db_url: str) -> Desk:
    return Desk(session_factory, make_settings(database_url=db_url))


@pytest.fixture
async def master(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session, session.begin():
        await make_staff(session, Role.MASTER, tg_user_id=MASTER_ID)


async def send_file(desk: Desk, user_id: int, data: bytes, name: str = "clients.csv",
                    key: str = "u1") -> list[str]:
    file_id = f"file-{key}"
    desk.bot.session.add_file(file_id, data)
    desk.bot.clear()
    await desk.dp.feed_update(desk.bot, make_document_update(
        user_id=user_id, file_id=file_id, file_unique_id=key, file_name=name,
        mime_type="text/csv", file_size=len(data)))
    return desk.bot.texts()


async def clients(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Client)) or 0)


async def test_owner_previews_cancels_then_imports(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session, session.begin():
        await make_client(session, "+380501234567", name="", surname="")
    texts = await send_file(desk, OWNER_ID, csv_bytes(BASE))
    preview = texts[-1]
    assert "Импорт клиентов" in preview and "«clients.csv»" in preview
    assert "Импортируется: 2, не прочитано: 1" in preview
    assert "новых 1, уже есть в базе 1 (дополнятся 1)" in preview
    assert "строка 3: телефон «12345» — слишком короткий номер" in preview
    assert desk.buttons(OWNER_ID) == ["✅ Импортировать", "✖️ Отмена"]

    texts = await desk.tap(OWNER_ID, "Отмена")
    assert "ничего не записано" in texts[-1]
    assert await clients(session_factory) == 1

    await send_file(desk, OWNER_ID, csv_bytes(BASE), key="u2")
    confirm, preview_message = desk.find_button(OWNER_ID, "Импортировать")
    texts = await desk.press(OWNER_ID, confirm, preview_message)
    assert "новых клиентов 1, дополнено 1" in texts[-1] and "Пропущено строк: 1" in texts[-1]
    async with session_factory() as session:
        assert set(await session.scalars(select(Client.name))) == {"Иван Петренко", "Петя"}
        assert await session.scalar(select(func.count()).select_from(Device)) == 1
    texts = await desk.press(OWNER_ID, confirm, preview_message)  # a second tap: stale
    assert await clients(session_factory) == 2


async def test_a_button_under_an_older_preview_is_stale(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await send_file(desk, OWNER_ID, csv_bytes(BASE), key="first")
    old_button, old_message = desk.find_button(OWNER_ID, "Импортировать")
    await send_file(desk, OWNER_ID, csv_bytes(BASE[:2]), key="second")
    await desk.press(OWNER_ID, old_button, old_message)
    assert await clients(session_factory) == 0


async def test_unreadable_file_is_explained(desk: Desk) -> None:
    texts = await send_file(desk, OWNER_ID, csv_bytes([["Имя", "Email"], ["Иван", "a@b"]]))
    assert "Не нашёл колонку с телефоном" in texts[-1]
    texts = await send_file(desk, OWNER_ID, b"\xd0\xcf\x11\xe0" + b"\x00" * 64, "old.xls",
                            key="u3")
    assert texts == ["Это старый формат Excel (.xls): сохраните файл как .xlsx или .csv."]


async def test_master_gets_no_access(desk: Desk, master: None,
                                     session_factory: async_sessionmaker[AsyncSession]) -> None:
    texts = await send_file(desk, MASTER_ID, csv_bytes(BASE))
    assert texts == ["Нет доступа: импортировать клиентов может только владелец."]
    texts = await desk.send(MASTER_ID, "/backup")
    assert texts == ["Нет доступа: резервную копию может сделать только владелец."]
    assert not desk.bot.calls(SendDocument)
    await send_file(desk, OWNER_ID, csv_bytes(BASE))  # the owner's preview …
    data, message = desk.find_button(OWNER_ID, "Импортировать")
    await desk.press(MASTER_ID, data, message)  # … a master cannot confirm it
    assert await clients(session_factory) == 0
    texts = await desk.send(STRANGER_ID, "/backup")
    assert texts == ["Немає доступу: ця команда для працівників сервісу."]  # client language


async def test_owner_gets_a_backup_that_restores(desk: Desk, db_url: str, empty_db_url: str,
                                                 tmp_path: Path) -> None:
    texts = await desk.send(OWNER_ID, "/backup")
    assert "Резервная копия базы" in texts[-1]
    sent = desk.bot.last(SendDocument)
    document = desk.bot.session.uploads[next(iter(desk.bot.session.uploads))]
    name = "copy.sqlite3.gz" if is_sqlite(db_url) else "copy.dump"
    if is_sqlite(db_url):
        assert gzip.decompress(document).startswith(b"SQLite format 3")
    assert sent.chat_id == OWNER_ID
    (tmp_path / name).write_bytes(document)
    info = await restore(empty_db_url, tmp_path / name)
    assert info.rows["staff"] == 1  # the owner, as of the /backup
    source = create_engine(db_url)
    try:
        assert (await table_counts(source))["statuses"] == info.rows["statuses"]
    finally:
        await source.dispose()


async def test_a_backup_too_large_for_telegram_is_kept_on_the_server(
        session_factory: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.backup

    monkeypatch.setattr(handlers.backup, "BOT_API_UPLOAD", 10)
    desk = Desk(session_factory, make_settings(database_url=db_url,
                                               backup_dir=str(tmp_path / "kept")))
    texts = await desk.send(OWNER_ID, "/backup")
    assert "больше" in texts[-1] and "сохранена на сервере" in texts[-1]
    assert not desk.bot.calls(SendDocument)
    assert len(list((tmp_path / "kept").glob("servicedesk-*"))) == 1
