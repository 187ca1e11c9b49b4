"""Audit log: who changed what. Written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.desk.models import AuditEntry, Staff


def audit(
    session: AsyncSession,
    actor: Staff | None,
    action: str,
    entity: str,
    entity_id: int | None,
    **data: Any,
) -> None:
    session.add(
        AuditEntry(
            staff_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            data=data,
            created_at=utcnow(),
        )
    )
