"""Staff, roles and one-time invites."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_owner
from db.audit import audit
from db.base import rowcount, utcnow
from db.desk.models import Invite, Role, Staff
from db.errors import (
    AlreadyStaff,
    InvalidValue,
    InviteInvalid,
    LastOwner,
    NotFound,
)

INVITE_PREFIX = "inv_"  # /start payload of an invite link: inv_<token>


# Who is writing: asked for every update, so built once (with their cache keys), not per call.
_BY_TG = select(Staff).where(Staff.tg_user_id == bindparam("tg_user_id"))
_ACTIVE_BY_TG = _BY_TG.where(Staff.active.is_(True))


async def get_staff_by_tg(session: AsyncSession, tg_user_id: int) -> Staff | None:
    """Active staff member for a Telegram user, or None (clients and strangers)."""
    return await session.scalar(_ACTIVE_BY_TG, {"tg_user_id": tg_user_id})


async def get_staff(session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("staff", staff_id=staff_id)
    return staff


async def find_staff(session: AsyncSession, staff_id: int) -> Staff | None:
    """A staff member by id, former ones too (None for a forged id)."""
    return await session.get(Staff, staff_id)


async def list_staff(session: AsyncSession, *, active_only: bool = False) -> list[Staff]:
    query = select(Staff).order_by(Staff.active.desc(), Staff.role, Staff.name)
    if active_only:
        query = query.where(Staff.active.is_(True))
    return list(await session.scalars(query))


async def ensure_owners(
    session: AsyncSession, owner_ids: Iterable[int], tg_user_id: int, name: str
) -> Staff | None:
    """Users listed in OWNER_IDS become (or stay) active owners on first contact."""
    if tg_user_id not in set(owner_ids):
        return await get_staff_by_tg(session, tg_user_id)
    staff = await session.scalar(_BY_TG, {"tg_user_id": tg_user_id})
    if staff is None:
        staff = Staff(tg_user_id=tg_user_id, name=name[:128] or str(tg_user_id), role=Role.OWNER,
                      commission_bp=0, active=True, created_at=utcnow())
        session.add(staff)
        await session.flush()
        audit(session, staff, "staff.owner_from_settings", "staff", staff.id)
    elif staff.role != Role.OWNER or not staff.active:
        staff.role, staff.active = Role.OWNER, True
        audit(session, staff, "staff.owner_from_settings", "staff", staff.id)
    return staff


async def create_invite(
    session: AsyncSession, actor: Staff, role: Role, ttl: timedelta, now: datetime | None = None
) -> Invite:
    require_owner(actor)
    now = now or utcnow()
    # 16 random bytes → 22 url-safe chars; with the prefix well under the 64-char deep link cap.
    invite = Invite(token=secrets.token_urlsafe(16), role=role, created_by_id=actor.id,
                    created_at=now, expires_at=now + ttl, revoked=False)
    session.add(invite)
    await session.flush()
    audit(session, actor, "invite.create", "invite", invite.id, role=role.value)
    return invite


async def accept_invite(
    session: AsyncSession, token: str, tg_user_id: int, name: str, now: datetime | None = None
) -> Staff:
    now = now or utcnow()
    # Lock the invite row so two people racing for one link cannot both use it.
    invite = await session.scalar(
        select(Invite).where(Invite.token == token).with_for_update()
    )
    if invite is None:
        raise InviteInvalid("unknown")
    if invite.revoked:
        raise InviteInvalid("revoked")
    if invite.used_at is not None:
        raise InviteInvalid("used")
    if invite.expires_at <= now:
        raise InviteInvalid("expired")
    staff = await session.scalar(select(Staff).where(Staff.tg_user_id == tg_user_id))
    if staff is not None and staff.active:
        raise AlreadyStaff("already staff")
    if staff is None:
        staff = Staff(tg_user_id=tg_user_id, name=name[:128] or str(tg_user_id),
                      role=invite.role, commission_bp=0, active=True, created_at=now)
        session.add(staff)
    else:  # a former employee comes back
        staff.role, staff.active, staff.name = invite.role, True, name[:128] or staff.name
    await session.flush()
    marked = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.revoked.is_(False))
        .values(used_at=now, used_by_id=staff.id)
    )
    if rowcount(marked) != 1:
        raise InviteInvalid("used")
    audit(session, staff, "invite.accept", "invite", invite.id, role=invite.role.value)
    return staff


async def pending_invites(session: AsyncSession, actor: Staff, now: datetime | None = None
                          ) -> list[Invite]:
    """Invites nobody used yet that still work (not revoked, not expired), oldest first."""
    require_owner(actor)
    return list(await session.scalars(
        select(Invite).where(Invite.used_at.is_(None), Invite.revoked.is_(False),
                             Invite.expires_at > (now or utcnow())).order_by(Invite.id)))


async def revoke_invite(session: AsyncSession, actor: Staff, invite_id: int) -> Invite:
    """Make an unused invite unusable. The row is locked as `accept_invite` locks it, so a
    link opened at the same moment is either accepted (and the revoke refused as "used") or
    refused as revoked."""
    require_owner(actor)
    invite = await session.scalar(
        select(Invite).where(Invite.id == invite_id).with_for_update()
        .execution_options(populate_existing=True))
    if invite is None:
        raise NotFound("invite", invite_id=invite_id)
    if invite.used_at is not None:
        raise InviteInvalid("used")
    if invite.revoked:
        raise InviteInvalid("revoked")
    invite.revoked = True
    audit(session, actor, "invite.revoke", "invite", invite.id, role=invite.role.value)
    return invite


async def _active_owner_count(session: AsyncSession) -> int:
    return await session.scalar(
        select(func.count()).select_from(Staff).where(
            Staff.role == Role.OWNER, Staff.active.is_(True)
        )
    ) or 0


async def change_role(session: AsyncSession, actor: Staff, staff_id: int, role: Role) -> Staff:
    require_owner(actor)
    staff = await get_staff(session, staff_id)
    if staff.role == Role.OWNER and role != Role.OWNER and await _active_owner_count(session) <= 1:
        raise LastOwner("last owner")
    old = staff.role
    staff.role = role
    audit(session, actor, "staff.role", "staff", staff.id, old=old.value, new=role.value)
    return staff


PERCENT_RE = re.compile(r"([0-9]{1,3})(?:[.,]([0-9]{1,2}))?")


def parse_percent(text: str) -> int:
    """'30', '12,5', '7.25 %' → basis points; 0..100 %, at most two decimals. Only plain
    digits: no exponents, inf or nan (float() would take them and overflow)."""
    match = PERCENT_RE.fullmatch(text.strip().rstrip("%").strip())
    if match is None:
        raise InvalidValue("percent", text=text)
    value = int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))
    if value > 10000:
        raise InvalidValue("percent", text=text)
    return value


async def set_commission(
    session: AsyncSession, actor: Staff, staff_id: int, commission_bp: int
) -> Staff:
    require_owner(actor)
    if not 0 <= commission_bp <= 10000:
        raise InvalidValue("percent", text=str(commission_bp))
    staff = await get_staff(session, staff_id)
    old = staff.commission_bp
    staff.commission_bp = commission_bp
    audit(session, actor, "staff.commission", "staff", staff.id, old=old, new=commission_bp)
    return staff


async def set_active(session: AsyncSession, actor: Staff, staff_id: int, active: bool) -> Staff:
    require_owner(actor)
    staff = await get_staff(session, staff_id)
    if (not active and staff.role == Role.OWNER and staff.active
            and await _active_owner_count(session) <= 1):
        raise LastOwner("last owner")
    staff.active = active
    audit(session, actor, "staff.active", "staff", staff.id, active=active)
    return staff
