"""Owners from settings, invites, roles, commission, deactivation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.desk.models import AuditEntry, Role
from db.desk.staff import (
    accept_invite,
    change_role,
    create_invite,
    ensure_owners,
    get_staff_by_tg,
    parse_percent,
    revoke_invite,
    set_active,
    set_commission,
)
from db.errors import AlreadyStaff, InvalidValue, InviteInvalid, LastOwner, PermissionDenied
from tests.factories import make_staff


async def test_owner_from_settings(session: AsyncSession) -> None:
    assert await ensure_owners(session, [1, 2], 5, "Stranger") is None
    owner = await ensure_owners(session, [1, 2], 1, "Boss")
    assert owner is not None and owner.role == Role.OWNER
    again = await ensure_owners(session, [1, 2], 1, "Boss")
    assert again is not None and again.id == owner.id


async def test_invite_flow(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    invite = await create_invite(session, owner, Role.MASTER, timedelta(hours=1))
    assert len("inv_" + invite.token) <= 64
    staff = await accept_invite(session, invite.token, 777, "Мастер Петя")
    assert staff.role == Role.MASTER and (await get_staff_by_tg(session, 777)) is staff
    with pytest.raises(InviteInvalid) as used:
        await accept_invite(session, invite.token, 778, "Other")
    assert used.value.reason == "used"
    with pytest.raises(InviteInvalid) as unknown:
        await accept_invite(session, "nope", 779, "Other")
    assert unknown.value.reason == "unknown"


async def test_invite_expired_revoked_and_already_staff(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    old = await create_invite(session, owner, Role.MASTER, timedelta(hours=1),
                              now=utcnow() - timedelta(hours=2))
    with pytest.raises(InviteInvalid) as expired:
        await accept_invite(session, old.token, 1, "A")
    assert expired.value.reason == "expired"
    revoked = await create_invite(session, owner, Role.MASTER, timedelta(hours=1))
    await revoke_invite(session, owner, revoked.id)
    with pytest.raises(InviteInvalid):
        await accept_invite(session, revoked.token, 1, "A")
    fresh = await create_invite(session, owner, Role.MANAGER, timedelta(hours=1))
    with pytest.raises(AlreadyStaff):
        await accept_invite(session, fresh.token, owner.tg_user_id, "Owner again")


async def test_only_owner_manages_staff(session: AsyncSession) -> None:
    manager = await make_staff(session, Role.MANAGER)
    master = await make_staff(session, Role.MASTER)
    with pytest.raises(PermissionDenied):
        await create_invite(session, manager, Role.MASTER, timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        await change_role(session, master, manager.id, Role.MASTER)
    with pytest.raises(PermissionDenied):
        await set_commission(session, manager, master.id, 5000)
    with pytest.raises(PermissionDenied):
        await set_active(session, manager, master.id, False)
    owner = await make_staff(session, Role.OWNER)
    invite = await create_invite(session, owner, Role.MASTER, timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        await revoke_invite(session, manager, invite.id)
    assert master.active and not invite.revoked


async def test_roles_commission_deactivate(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    await change_role(session, owner, master.id, Role.MANAGER)
    await set_commission(session, owner, master.id, parse_percent("12,5"))
    assert master.role == Role.MANAGER and master.commission_bp == 1250
    await set_active(session, owner, master.id, False)
    assert await get_staff_by_tg(session, master.tg_user_id) is None
    with pytest.raises(LastOwner):
        await change_role(session, owner, owner.id, Role.MASTER)
    with pytest.raises(LastOwner):
        await set_active(session, owner, owner.id, False)
    await session.flush()
    actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"staff.role", "staff.commission", "staff.active"} <= actions


@pytest.mark.parametrize("text", ["abc", "-5", "101", "nan", "", "inf", "-inf", "Infinity", "1e309",
                                  "1e2", "100.01", "12.345", "0x1F", "1_0", "５"])
def test_bad_percent(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_percent(text)


@pytest.mark.parametrize(("text", "bp"), [("30", 3000), ("7.25 %", 725), ("0", 0), ("100", 10000),
                                           ("12,5", 1250), ("100.00", 10000)])
def test_good_percent(text: str, bp: int) -> None:
    assert parse_percent(text) == bp
