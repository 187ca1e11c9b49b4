"""Reports end to end: the real app polls the Bot API emulator over HTTP; the owner reads a
day, downloads the exports, and the digest job delivers the summary with its chart."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal

from openpyxl import load_workbook

from db.engine import create_engine, create_session_factory
from db.money.shifts import close_shift
from scheduler.digest import send_daily_digest
from tests.e2e_kit import live_bot
from tests.emulators.telegram import BotMessage
from tests.handler_kit import OWNER_ID
from tests.test_reports import _busy_day
from tests.test_reports_support import Shop, kyiv


def has(text: str) -> Callable[[BotMessage], bool]:
    return lambda m: text in (m.text or "").replace("\u00a0", " ").replace("\u202f", " ")


async def test_reports_story(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        factory = create_session_factory(engine)
        async with factory() as s, s.begin():
            shop = await Shop.create(s, owner_tg=OWNER_ID)
            await _busy_day(shop)
            await close_shift(s, shop.owner, kyiv(2026, 3, 3, 0, 20))
    finally:
        await engine.dispose()

    async with live_bot(db_url) as (emu, app):
        owner = emu.user(OWNER_ID, "Олег", "Власник")
        await owner.send("/start")
        await owner.wait_for(has("владелец"))
        assert "📊 Отчеты" in owner.reply_keyboard()
        await owner.send("/today 02.03.2026")
        await owner.wait_for(has("Выручка: 1 750,22 ₴"))
        await owner.tap("Выгрузка")
        await owner.wait_for(has("Выгрузка: пн, 02.03.2026"))
        await owner.tap("Чеки · XLSX")
        xlsx = await owner.wait_for(lambda m: m.document_name == "receipts_2026-03-02.xlsx")
        assert xlsx.document is not None and has("итого 1 750,22 ₴")(xlsx)
        rows = list(load_workbook(io.BytesIO(xlsx.document))["Чеки"].iter_rows(values_only=True))
        assert sum(Decimal(str(r[11])) for r in rows[1:]) == Decimal("1750.22")
        await owner.tap("Чеки · CSV")
        data = await owner.wait_for(lambda m: m.document_name == "receipts_2026-03-02.csv")
        assert data.document is not None
        lines = list(csv.DictReader(io.StringIO(data.document.decode("utf-8-sig"))))
        assert sum(Decimal(r["Сумма"]) for r in lines) == Decimal("1750.22")

        # the scheduler's job, a few minutes after the shift closed
        assert app.session_factory is not None and app.bot is not None
        sent = await send_daily_digest(app.session_factory, app.bot, app.settings,
                                       kyiv(2026, 3, 3, 0, 25), i18n=app.i18n)
        assert sent == 1
        await owner.wait_for(has("Сводка за пн, 02.03.2026"))
        chart = await owner.wait_for(lambda m: m.photo is not None)
        assert chart.photo is not None and chart.photo.startswith(b"\x89PNG")
