"""Abuse (issue 11, item 8) through the real Dispatcher: revoking invites from /staff, chatter of
non-staff throttled, lock codes only on the ticket card, the owner's audit log."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Invite, Staff
from keyboards.callbacks import StaffAction, StaffCb
from tests.handler_kit import OWNER_ID, Desk

MASTER_ID = 2
MANAGER_ID = 3
STRANGER_ID = 666


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


def alerts(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery) if a.text]


async def invite_link(desk: Desk, role_label: str) -> str:
    await desk.send(OWNER_ID, "/staff")
    await desk.tap(OWNER_ID, "Пригласить")
    texts = await desk.tap(OWNER_ID, role_label)
    link = next(t for t in texts if "start=inv_" in t)
    return link.split("start=")[1].split()[0]


# -- invites ----------------------------------------------------------------------------------

async def test_owner_revokes_an_unused_invite_from_staff(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    payload = await invite_link(desk, "мастер")
    await invite_link(desk, "менеджер")
    texts = await desk.send(OWNER_ID, "/staff")
    assert "Неиспользованные приглашения: 2" in texts[-1], texts
    revokes = [b for b in desk.buttons(OWNER_ID) if b.startswith("✖️ Отозвать")]
    assert len(revokes) == 2 and "мастер" in revokes[0] and "менеджер" in revokes[1], revokes
    await desk.tap(OWNER_ID, "Отозвать: мастер")
    assert "Приглашение отозвано: ссылка больше не работает." in alerts(desk)
    assert "Неиспользованные приглашения: 1" in desk.last_text()
    assert not any("мастер" in b for b in desk.buttons(OWNER_ID) if "Отозвать" in b)
    # The link answers clearly and lets nobody in.
    texts = await desk.send(MASTER_ID, f"/start {payload}", first_name="Петя")
    assert "отозвано" in texts[-1] and "Добро пожаловать" not in " ".join(texts), texts
    async with session_factory() as s:
        assert await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID)) is None
        revoked = await s.scalar(select(Invite).where(Invite.token == payload[4:]))
        assert revoked is not None and revoked.revoked and revoked.used_at is None


async def test_revoke_right_on_the_new_link_and_twice(desk: Desk) -> None:
    payload = await invite_link(desk, "мастер")
    data, message = desk.find_button(OWNER_ID, "Отозвать")
    await desk.press(OWNER_ID, data, message)
    assert "Приглашение отозвано: ссылка больше не работает." in alerts(desk)
    texts = await desk.press(OWNER_ID, data, message)  # the same button again
    assert "отозвано" in alerts(desk)[-1] and not texts
    texts = await desk.send(MASTER_ID, f"/start {payload}")
    assert "отозвано" in texts[-1]


async def test_a_used_invite_cannot_be_revoked(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    payload = await invite_link(desk, "мастер")
    data, message = desk.find_button(OWNER_ID, "Отозвать")
    texts = await desk.send(MASTER_ID, f"/start {payload}", first_name="Петя")
    assert any("Добро пожаловать" in t for t in texts)
    await desk.press(OWNER_ID, data, message)
    assert "уже воспользовались" in alerts(desk)[-1]
    async with session_factory() as s:
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        assert master is not None and master.active
    texts = await desk.send(OWNER_ID, "/staff")
    assert "Неиспользованные" not in texts[-1]


async def test_only_the_owner_revokes(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await invite_link(desk, "менеджер")
    data, _message = desk.find_button(OWNER_ID, "Отозвать")
    manager = await invite_link(desk, "менеджер")
    await desk.send(MANAGER_ID, f"/start {manager}")
    for user in (MANAGER_ID, STRANGER_ID):
        await desk.press(user, data)
        assert not desk.bot.texts()
        assert alerts(desk)[-1] in ("Нет доступа.", "Немає доступу.",
                                    "Кнопка устарела — откройте карточку заново."), alerts(desk)
    # A forged id (out of range too) changes nothing.
    await desk.press(OWNER_ID, StaffCb(action=StaffAction.REVOKE, id=2**63 - 1).pack())
    assert "Не найдено" in alerts(desk)[-1]
    await desk.press(OWNER_ID, f"s:revoke:{2**63}:")
    async with session_factory() as s:
        assert not list(await s.scalars(select(Invite).where(Invite.revoked.is_(True))))
