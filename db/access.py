"""Who may do what with money. Checked inside every operation, not by hiding buttons.

- any active staff: receipts and lines, payments (incl. quick sales), expenses, closing a ticket;
- owner or manager: the price list, refunds, service cash in/out, deleting expenses,
  opening and closing shifts by hand, deleting an unpaid receipt of a closed ticket;
- owner: the payment-type list; staff, roles, commissions and invites (db.desk.staff).
"""

from __future__ import annotations

from db.desk.models import Role, Staff
from db.errors import PermissionDenied


def require_active(actor: Staff) -> None:
    if actor is None or not actor.active:
        raise PermissionDenied("active staff only")


def require_manager(actor: Staff) -> None:
    require_active(actor)
    if not actor.is_manager_or_owner:
        raise PermissionDenied("owner or manager only", role=actor.role.value, needs="manager")


def require_owner(actor: Staff) -> None:
    require_active(actor)
    if actor.role != Role.OWNER:
        raise PermissionDenied("owner only", role=actor.role.value, needs="owner")
