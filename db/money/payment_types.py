"""Payment types: the owner's editable list (cash, card, …). `kind` maps to Checkbox
CASH/CASHLESS and decides whether money moves the drawer. Types are deactivated, never
deleted: payments and expenses point at them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_owner
from db.audit import audit
from db.desk.models import Staff
from db.errors import InvalidValue, NotFound, required_line
from db.money.errors import LastPaymentType
from db.money.models import PaymentKind, PaymentType

NAME_MAX = 64


def _kind(kind: PaymentKind | str) -> PaymentKind:
    try:
        return PaymentKind(kind)
    except ValueError:
        raise InvalidValue("kind", reason="unknown", value=str(kind)) from None


# Built once: every payment screen lists the types.
_ORDERED = select(PaymentType).order_by(PaymentType.position, PaymentType.id)
_ACTIVE = _ORDERED.where(PaymentType.active.is_(True))


async def list_payment_types(
    session: AsyncSession, *, active_only: bool = True
) -> list[PaymentType]:
    return list(await session.scalars(_ACTIVE if active_only else _ORDERED))


_ALL_TYPES = select(PaymentType)


async def payment_types_by_id(session: AsyncSession) -> dict[int, PaymentType]:
    """Every type, switched off ones too (old payments name them)."""
    return {t.id: t for t in await session.scalars(_ALL_TYPES)}


async def get_payment_type(
    session: AsyncSession, payment_type_id: int, *, active: bool = True
) -> PaymentType:
    """The type by id; with `active` an inactive one is as good as missing."""
    payment_type = await session.get(PaymentType, payment_type_id)
    if payment_type is None or (active and not payment_type.active):
        raise NotFound("payment_type", payment_type_id=payment_type_id)
    return payment_type


async def default_payment_type(session: AsyncSession, kind: PaymentKind) -> PaymentType:
    """The first active type of a kind (the "Наличные" button)."""
    payment_type = await session.scalar(
        select(PaymentType).where(PaymentType.kind == kind, PaymentType.active.is_(True))
        .order_by(PaymentType.position, PaymentType.id).limit(1)
    )
    if payment_type is None:
        raise NotFound("payment_type", kind=kind.value)
    return payment_type


async def add_payment_type(
    session: AsyncSession, actor: Staff, name_ru: str, name_uk: str,
    kind: PaymentKind | str, position: int | None = None,
) -> PaymentType:
    require_owner(actor)
    if position is None:
        last = await session.scalar(select(func.max(PaymentType.position)))
        position = (last or 0) + 10
    payment_type = PaymentType(name_ru=required_line(name_ru, "name_ru", NAME_MAX),
                               name_uk=required_line(name_uk, "name_uk", NAME_MAX),
                               kind=_kind(kind), position=position, active=True)
    session.add(payment_type)
    await session.flush()
    audit(session, actor, "payment_type.add", "payment_type", payment_type.id,
          name_ru=payment_type.name_ru, kind=payment_type.kind.value)
    return payment_type


async def edit_payment_type(
    session: AsyncSession, actor: Staff, payment_type_id: int, *,
    name_ru: str | None = None, name_uk: str | None = None, kind: PaymentKind | str | None = None,
    position: int | None = None, active: bool | None = None,
) -> PaymentType:
    """Rename, re-kind, reorder or (de)activate. A new kind applies to future money only:
    every payment and expense keeps the kind it was made with."""
    require_owner(actor)
    payment_type = await get_payment_type(session, payment_type_id, active=False)
    changes: dict[str, object] = {}
    if name_ru is not None:
        payment_type.name_ru = changes["name_ru"] = required_line(name_ru, "name_ru",
                                                                  NAME_MAX)
    if name_uk is not None:
        payment_type.name_uk = changes["name_uk"] = required_line(name_uk, "name_uk",
                                                                  NAME_MAX)
    if kind is not None:
        payment_type.kind = _kind(kind)
        changes["kind"] = payment_type.kind.value
    if position is not None:
        payment_type.position = changes["position"] = position
    if active is not None:
        if not active and payment_type.active and len(await list_payment_types(session)) <= 1:
            raise LastPaymentType(payment_type.id)
        payment_type.active = changes["active"] = active
    audit(session, actor, "payment_type.edit", "payment_type", payment_type.id, **changes)
    return payment_type


async def move_payment_type_up(session: AsyncSession, actor: Staff, payment_type_id: int
                               ) -> PaymentType:
    """One place earlier in the list (the order of the payment buttons); the first stays."""
    require_owner(actor)
    payment_type = await get_payment_type(session, payment_type_id, active=False)
    types = await list_payment_types(session, active_only=False)
    index = [t.id for t in types].index(payment_type.id)
    if index == 0:
        return payment_type
    ordered = [*types[:index - 1], payment_type, types[index - 1], *types[index + 1:]]
    for position, item in enumerate(ordered, 1):
        if item.position != position * 10:
            await edit_payment_type(session, actor, item.id, position=position * 10)
    return payment_type
