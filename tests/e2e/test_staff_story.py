"""The seed's story end to end: the real app polls the Bot API emulator over HTTP."""

from __future__ import annotations

from aiogram.types import BotCommandScopeChat, BotCommandScopeDefault
from sqlalchemy import select

from db.desk.models import Attachment, Ticket
from db.engine import create_engine, create_session_factory
from tests.e2e_kit import live_bot
from tests.handler_kit import OWNER_ID

MASTER = 2002
STRANGER = 3003


async def test_owner_invites_master_who_accepts_devices(db_url: str) -> None:
    async with live_bot(db_url) as (emu, app):
        owner = emu.user(OWNER_ID, "Олег", "Власник")
        await owner.send("/start")
        await owner.wait_for("владелец")
        assert "👥 Клиенты" in owner.reply_keyboard()
        assert app.menus is not None
        await app.menus  # set beside polling, at start
        assert [c["command"] for c in emu.commands(BotCommandScopeDefault())] == [
            "start", "status", "help"]

        # The owner invites a master.
        await owner.send("/staff")
        await owner.wait_for("Сотрудники")
        await owner.tap("Пригласить сотрудника")
        await owner.wait_for("Кого приглашаем")
        await owner.tap("мастер")
        invite = await owner.wait_for("start=inv_")
        payload = invite.text.split("start=")[1].split()[0]

        master = emu.user(MASTER, "Петя", "Майстер")
        await master.send(f"/start {payload}")
        await master.wait_for("Добро пожаловать")
        staff_commands = [c["command"] for c in emu.commands(BotCommandScopeChat(chat_id=MASTER))]
        assert "ticket" in staff_commands and "client" in staff_commands
        assert "staff" not in staff_commands and "report" not in staff_commands  # a master's menu
        owner_commands = [c["command"] for c in emu.commands(BotCommandScopeChat(chat_id=OWNER_ID))]
        assert {"staff", "settings", "report", "today"} <= set(owner_commands)

        # New client + new device + ticket with a name, the type (guessed from the model),
        # the defect, two photos (one album) and the IMEI: 6 interactions (the goal ≤ 8).
        master.interactions = 0
        await master.send("+38 (067) 123-45-67")
        await master.wait_for(lambda m: "не найден" in m.text and "Имя и фамилия" in m.text)
        await master.send("Иван Петренко")
        await master.wait_for("Какое устройство")
        await master.send("Apple iPhone 12, Не заряжается")
        await master.wait_for("Приём: Телефон Apple iPhone 12")
        await master.send_album(2)
        await master.wait_for("Фото: 2")
        await master.send("356938035643809")
        await master.wait_for("Серийный/IMEI: 356938035643809")
        await master.tap("Принять")
        card = await master.wait_for("[1] Apple iPhone 12 — Иван Петренко")
        assert master.interactions == 6, master.interactions
        assert "Принят" in card.text

        # Status moves: only allowed transitions are offered.
        await master.tap("Статус")
        picker = await master.wait_for("Выберите новый статус")
        assert "Можно забирать" not in " ".join(picker.buttons)
        for status in ("Диагностика", "В работе", "Можно забирать", "Выдан"):
            await master.tap(status if status != "Диагностика" else "Диагностика",)
            await master.wait_for(lambda m, s=status: f"<b>{s}</b>" in (m.raw.get("text") or "")
                                  or f"Статус: {s}" in (m.text or ""))
            if status != "Выдан":
                await master.tap("Статус")
                await master.wait_for("Выберите новый статус")

        # A comment with a photo.
        await master.tap("✍️ Комментарий")
        await master.wait_for("Комментарий к [1]")
        await master.send("Заменил разъём зарядки")
        await master.send_photo()
        await master.wait_for("фото 1")
        await master.tap("Готово")
        await master.wait_for("Комментарий сохранён")
        await master.tap("🗂 Комментарии")
        await master.wait_for("Заменил разъём")

        # Label: a PNG with a QR.
        await master.tap("Этикетка")
        label = await master.wait_for("🏷 Этикетка [1]")
        assert label.photo and label.photo[:8] == b"\x89PNG\r\n\x1a\n"

        # Second visit of the same device: a warranty ticket, 5 interactions (goal ≤ 5).
        master.interactions = 0
        await master.send("4567")
        await master.wait_for("Иван Петренко")
        await master.tap("📱 Apple iPhone 12")
        await master.wait_for("История обращений")
        await master.tap("Новое обращение")
        await master.wait_for("Опишите")
        await master.send("Снова не заряжается")
        await master.wait_for("Приём")
        await master.tap("Принять")
        second = await master.wait_for("[2] Apple iPhone 12")
        assert "Гарантийное" in second.text and "предыдущее: [1]" in second.text
        assert master.interactions == 5, master.interactions

        # The same (returning) client, found by the last 4 digits, brings a new device with two
        # photos and its serial: 6 interactions (goal ≤ 7). Her card lists the open ticket [2].
        master.interactions = 0
        await master.send("4567")
        found = await master.wait_for("Иван Петренко")
        assert any("[2] Apple iPhone 12" in b for b in found.buttons), found.buttons
        await master.tap("Новое устройство")
        await master.wait_for("Какое устройство")
        await master.send("Lenovo IdeaPad 5, Залит чаем")
        await master.wait_for("Приём: Ноутбук Lenovo IdeaPad 5")
        await master.send_album(2)
        await master.wait_for("Фото: 2")
        await master.send("PF2ABCD1")
        await master.wait_for("Серийный/IMEI: PF2ABCD1")
        await master.tap("Принять")
        await master.wait_for("[3] Lenovo IdeaPad 5 — Иван Петренко")
        assert master.interactions == 6, master.interactions

        # A stranger is refused every staff command and forged button.
        stranger = emu.user(STRANGER, "Чужой")
        for command in ("/client 0671234567", "/ticket 1", "/find Иван", "/staff", "/settings"):
            await stranger.send(command)
            reply = await stranger.wait_for("Немає доступу")  # strangers get the client language
            assert "Иван" not in reply.text
        for forged in ("t:card:1:0", "t:set:1:5", "c:card:1:0", "s:inv:0:", "i:ok:0:0"):
            await stranger.press_forged(forged)
            answer = await stranger.wait_answer()
            assert "Немає доступу" in answer.get("text", ""), (forged, answer)
        await stranger.send("/start tk_1")
        greeting = await stranger.wait_for(lambda m: True)
        assert "[1]" not in greeting.text and "Иван" not in greeting.text

    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            tickets = list(await session.scalars(select(Ticket).order_by(Ticket.number)))
            assert [t.number for t in tickets] == [1, 2, 3] and tickets[1].is_warranty
            assert len(list(await session.scalars(select(Attachment)))) == 5
    finally:
        await engine.dispose()
