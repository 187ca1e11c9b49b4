"""Who sees the shop's cash: the drawer balance and its movements (/cash) and the shift's
totals (/shift). An owner's switch in /settings, stored in the `settings` table:

- `cash.masters_see` (bool, default true — what masters always saw): masters see the drawer
  balance and the shift totals too. Off: masters keep doing their work at the desk (take
  payments, quick sales, expenses), but the balance, the day's movements and the shift's
  totals are for owners and managers (who move cash and close shifts) only.

Owners and managers always see them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import settings_store
from db.access import require_active, require_owner
from db.audit import audit
from db.desk.models import Role, Staff
from db.errors import PermissionDenied

MASTERS_SEE = "cash.masters_see"


async def masters_see_cash(session: AsyncSession) -> bool:
    return await settings_store.get(session, MASTERS_SEE, True) is not False


async def set_masters_see_cash(session: AsyncSession, actor: Staff, on: bool) -> None:
    require_owner(actor)
    await settings_store.put(session, MASTERS_SEE, bool(on))
    audit(session, actor, "settings.cash", "setting", None, key=MASTERS_SEE, value=bool(on))


async def can_see_cash(session: AsyncSession, staff: Staff) -> bool:
    """Active owners and managers always; active masters unless the owner switched it off."""
    if not staff.active:
        return False
    if staff.role in (Role.OWNER, Role.MANAGER):
        return True
    return await masters_see_cash(session)


async def require_cash_view(session: AsyncSession, actor: Staff) -> None:
    require_active(actor)
    if not await can_see_cash(session, actor):
        raise PermissionDenied("cash hidden from masters", role=actor.role.value,
                               needs="manager")
