"""Small builders for domain objects used across tests."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.desk.clients import create_client
from db.desk.models import Client, Role, Staff, Ticket
from db.desk.tickets import NewDevice, TicketDraft, open_ticket

_ids = itertools.count(1000)


async def make_staff(
    session: AsyncSession, role: Role = Role.MASTER, *, name: str = "", tg_user_id: int = 0,
    commission_bp: int = 0,
) -> Staff:
    tg = tg_user_id or next(_ids)
    staff = Staff(tg_user_id=tg, name=name or f"{role.value} {tg}", role=role,
                  commission_bp=commission_bp, active=True, created_at=utcnow())
    session.add(staff)
    await session.flush()
    return staff


async def make_client(
    session: AsyncSession, phone: str = "", *, name: str = "Иван", surname: str = "Петренко",
) -> Client:
    phone = phone or f"+38067{next(_ids) % 10_000_000:07d}"
    return await create_client(session, None, phone=phone, name=name, surname=surname)


async def make_ticket(
    session: AsyncSession, actor: Staff, client: Client | None = None, **draft: object
) -> Ticket:
    client = client or await make_client(session)
    draft.setdefault("defect", "Не включается")
    return await open_ticket(
        session, actor, TicketDraft(**draft),  # type: ignore[arg-type]
        client_id=client.id, new_device=NewDevice(kind="Телефон", brand="Apple", model="iPhone 12",
                                                  serial="35-209900-176148-1"),
    )
