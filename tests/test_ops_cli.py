"""`python -m bot backup | restore | import` as an operator runs them (bot.__main__.main)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.__main__ import main
from db.desk.models import Client
from db.engine import create_engine, create_session_factory, is_sqlite
from tests.test_import_clients import csv_bytes


def clients(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with create_session_factory(engine)() as session:
                return int(await session.scalar(select(func.count()).select_from(Client)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_import_backup_restore(db_url: str, empty_db_url: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.setenv("DATABASE_URL", db_url)
    base = tmp_path / "base.csv"
    base.write_bytes(csv_bytes([["Телефон", "Имя"], ["0671234567", "Иван"], ["123", "Нет"]]))

    assert main(["import", str(base)]) == 1  # no terminal to ask, no --yes: preview only
    out = capsys.readouterr().out
    assert "clients: 1 new" in out and "line 3: phone_too_short" in out
    assert clients(db_url) == 0
    assert main(["import", str(base), "--yes"]) == 0
    assert clients(db_url) == 1

    backup = tmp_path / ("copy.sqlite3.gz" if is_sqlite(db_url) else "copy.dump")
    assert main(["backup", str(backup)]) == 0 and backup.exists()
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    assert main(["restore", str(backup)]) == 0
    assert clients(empty_db_url) == 1
    assert main(["restore", str(backup)]) == 1  # now it has data
    assert "not empty" in capsys.readouterr().err
    assert main(["restore", str(backup), "--force"]) == 0
    assert main(["restore", str(tmp_path / "missing.dump")]) == 1
