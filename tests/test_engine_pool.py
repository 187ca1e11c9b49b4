"""db/engine.py's pool hands out the connection returned last (warm caches for the next
update), on SQLite files and PostgreSQL alike."""

from __future__ import annotations

from db.engine import create_engine


async def test_the_connection_returned_last_is_handed_out_next(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        first, second = await engine.connect(), await engine.connect()
        raw = [(await c.get_raw_connection()).dbapi_connection for c in (first, second)]
        await first.close()
        await second.close()  # returned last
        async with engine.connect() as again:
            assert (await again.get_raw_connection()).dbapi_connection is raw[1]
    finally:
        await engine.dispose()
