"""Price list: services with a unique code, a name and a price in kopecks.

Codes are stored upper-cased (Python's upper(), so Cyrillic too) and found exactly whatever
the case typed. Names are found by substring in any case through `search_name`, the
casefolded name: SQLite's lower() folds ASCII only, so both sides are folded in Python.
Archived services stay on old receipts but are not offered or found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_manager
from db.audit import audit
from db.base import utcnow
from db.desk.models import Staff
from db.errors import InvalidValue, NotFound, required_line
from db.money.amounts import AMOUNT_MAX
from db.money.errors import DuplicateService, InvalidAmount
from db.money.models import Service

CODE_MAX = 32
NAME_MAX = 256


def normalize_code(code: str) -> str:
    return "".join((code or "").split()).upper()


def _code(code: str) -> str:
    value = normalize_code(code)
    if not value:
        raise InvalidValue("code", reason="required")
    if len(value) > CODE_MAX:
        raise InvalidValue("code", reason="too_long", limit=CODE_MAX)
    return value


def check_price(price: int) -> int:
    """A price may be zero (free diagnostics), never negative or above the amount cap."""
    if not isinstance(price, int) or isinstance(price, bool):
        raise InvalidAmount("format", repr(price), field="price")
    if price < 0:
        raise InvalidAmount("negative", str(price), field="price")
    if price > AMOUNT_MAX:
        raise InvalidAmount("too_large", str(price), field="price", limit=AMOUNT_MAX)
    return price


async def _ensure_code_free(session: AsyncSession, code: str, own_id: int | None = None) -> None:
    other = await session.scalar(select(Service).where(Service.code == code))
    if other is not None and other.id != own_id:
        raise DuplicateService(code, other.id)


async def add_service(
    session: AsyncSession, actor: Staff, code: str, name: str, price: int,
    now: datetime | None = None,
) -> Service:
    require_manager(actor)
    now = now or utcnow()
    code, name = _code(code), required_line(name, "name", NAME_MAX)
    check_price(price)
    await _ensure_code_free(session, code)
    service = Service(code=code, name=name, price=price, archived=False,
                      search_name=name.casefold(), created_at=now, updated_at=now)
    session.add(service)
    await session.flush()
    audit(session, actor, "service.add", "service", service.id, code=code, name=name,
          price=price)
    return service


async def get_service(session: AsyncSession, service_id: int) -> Service:
    service = await session.get(Service, service_id)
    if service is None:
        raise NotFound("service", service_id=service_id)
    return service


async def get_service_by_code(session: AsyncSession, code: str) -> Service | None:
    value = normalize_code(code)
    if not value:
        return None
    return await session.scalar(select(Service).where(Service.code == value))


async def edit_service(
    session: AsyncSession, actor: Staff, service_id: int, *, code: str | None = None,
    name: str | None = None, price: int | None = None, now: datetime | None = None,
) -> Service:
    """Change code, name or price. Lines already on receipts keep their own copies."""
    require_manager(actor)
    service = await get_service(session, service_id)
    changes: dict[str, object] = {}
    if code is not None:
        new_code = _code(code)
        if new_code != service.code:
            await _ensure_code_free(session, new_code, service.id)
            changes["code"] = [service.code, new_code]
            service.code = new_code
    if name is not None:
        new_name = required_line(name, "name", NAME_MAX)
        changes["name"] = [service.name, new_name]
        service.name, service.search_name = new_name, new_name.casefold()
    if price is not None:
        check_price(price)
        changes["price"] = [service.price, price]
        service.price = price
    service.updated_at = now or utcnow()
    audit(session, actor, "service.edit", "service", service.id, **changes)
    return service


async def archive_service(
    session: AsyncSession, actor: Staff, service_id: int, archived: bool = True,
    now: datetime | None = None,
) -> Service:
    require_manager(actor)
    service = await get_service(session, service_id)
    service.archived = archived
    service.updated_at = now or utcnow()
    audit(session, actor, "service.archive", "service", service.id, archived=archived)
    return service


async def find_services(session: AsyncSession, text: str, limit: int = 20) -> list[Service]:
    """Active services: an exact code match first, then names containing `text` in any case."""
    query = " ".join((text or "").split())
    if not query:
        return []
    found: list[Service] = []
    exact = await get_service_by_code(session, query)
    if exact is not None and not exact.archived:
        found.append(exact)
    rows = await session.scalars(
        select(Service).where(
            Service.archived.is_(False),
            Service.search_name.contains(query.casefold(), autoescape=True),
        ).order_by(Service.search_name, Service.id).limit(limit)
    )
    found.extend(s for s in rows if exact is None or s.id != exact.id)
    return found[:limit]


async def list_services(
    session: AsyncSession, *, offset: int = 0, limit: int = 20, include_archived: bool = False,
) -> tuple[list[Service], int]:
    """A page of the price list ordered by code, with the total count."""
    base = select(Service)
    if not include_archived:
        base = base.where(Service.archived.is_(False))
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = await session.scalars(base.order_by(Service.code).offset(offset).limit(limit))
    return list(rows), total


async def archived_services(session: AsyncSession, *, offset: int = 0, limit: int = 20
                            ) -> tuple[list[Service], int]:
    """A page of the archive ordered by code, with its total count."""
    where = Service.archived.is_(True)
    total = await session.scalar(select(func.count()).select_from(Service).where(where)) or 0
    rows = await session.scalars(select(Service).where(where).order_by(Service.code)
                                 .offset(offset).limit(limit))
    return list(rows), total


async def active_services(session: AsyncSession, ids: Sequence[int]) -> list[Service]:
    """The services with these ids that still exist and are not archived, in the given order."""
    found = {s.id: s for s in await session.scalars(select(Service).where(Service.id.in_(ids)))}
    return [found[i] for i in ids if i in found and not found[i].archived]
