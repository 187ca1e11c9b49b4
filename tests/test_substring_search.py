"""Search inside names and serials through the trigram indexes (db/desk/substring_search.py,
migration 0011): the same answers as a scan, kept in step with every write, and served by the
index on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.clients import add_device, search_clients, update_client
from db.desk.models import Client, Device, Role
from tests.factories import make_client, make_staff


async def _ids(session: AsyncSession, text: str) -> list[int]:
    return [hit.client.id for hit in await search_clients(session, text)]


async def test_names_found_anywhere_inside_and_kept_in_step(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    taras = await make_client(session, name="Тарас", surname="Шевченко")
    ivan = await make_client(session, name="Іван", surname="Франко")
    assert await _ids(session, "ЕВЧЕН") == [taras.id]
    assert await _ids(session, "ас ше") == [taras.id]  # across the space
    assert await _ids(session, "ко") == [ivan.id, taras.id]  # two letters: the scan, newest first
    await update_client(session, owner, taras.id, surname="Коваленко")
    assert await _ids(session, "шевч") == []
    assert await _ids(session, "коваленко") == [taras.id]
    await session.execute(delete(Client).where(Client.id == ivan.id))  # whatever deletes it
    assert await _ids(session, "франко") == []


async def test_serials_found_anywhere_inside_and_kept_in_step(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    client = await make_client(session)
    device = await add_device(session, owner, client.id, kind="Ноутбук", serial="PF-2X9Q7Z")
    assert await _ids(session, "x9q7") == [client.id]
    await session.execute(update(Device).where(Device.id == device.id)
                          .values(serial="C02ZK1", serial_norm="C02ZK1"))
    assert await _ids(session, "X9Q7") == []
    assert await _ids(session, "02ZK") == [client.id]


async def test_rows_written_past_the_app_are_found(session: AsyncSession) -> None:
    """An import or a person with psql writes the rows directly: the index follows."""
    await session.execute(insert(Client).values(
        name="Ольга", surname="Кобилянська", phone="+380671110000", phone_rev="0000111760834",
        search_name="ольга кобилянська"))
    assert len(await _ids(session, "билян")) == 1


async def test_query_text_is_never_query_syntax(session: AsyncSession) -> None:
    client = await make_client(session, name='Д"Артаньян', surname="100%_чистий")
    assert await _ids(session, 'д"арт') == [client.id]
    assert await _ids(session, "0%_ч") == [client.id]
    for text in ('"', "OR", "* NEAR", "a AND b", "%%%", "___", "^тар"):
        assert await _ids(session, text) == [], text


async def test_the_index_serves_the_search(session: AsyncSession) -> None:
    """The plan of each search reads the trigram index, not the whole table."""
    owner = await make_staff(session, Role.OWNER)
    client = await make_client(session, name="Марія", surname="Заньковецька")
    await add_device(session, owner, client.id, kind="Телефон", serial="356938035643809")
    statements: list[tuple[str, Any]] = []
    sync_engine = session.get_bind()

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        await search_clients(session, "ньковец")
        await search_clients(session, "8035643")  # no phone ends so: the serials
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
    sqlite = sync_engine.dialect.name == "sqlite"
    plans = []
    connection = await session.connection()
    if not sqlite:  # the tables here are tiny: make the planner show what it can use
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    for statement, parameters in statements:
        if not any(mark in statement for mark in ("_search", "search_name LIKE",
                                                   "serial_norm LIKE")):
            continue
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
        plans.append(" ".join(str(part) for row in rows for part in row))
    wanted = (("clients_search", "devices_search") if sqlite
              else ("ix_clients_search_name_trgm", "ix_devices_serial_norm_trgm"))
    assert len(plans) == 2, statements
    for plan, index in zip(plans, wanted, strict=True):
        assert index in plan, plan
