"""Price list and payment types: permissions, codes, Cyrillic search, paging, archive."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import AuditEntry, Role
from db.errors import InvalidValue, NotFound, PermissionDenied
from db.money.errors import DuplicateService, InvalidAmount, LastPaymentType
from db.money.models import PaymentKind
from db.money.payment_types import (
    add_payment_type,
    edit_payment_type,
    get_payment_type,
    list_payment_types,
    move_payment_type_up,
    payment_types_by_id,
)
from db.money.price_list import (
    add_service,
    archive_service,
    archived_services,
    edit_service,
    find_services,
    get_service_by_code,
    list_services,
)
from tests.factories import make_staff


async def test_add_edit_archive_with_permissions(session: AsyncSession) -> None:
    manager = await make_staff(session, Role.MANAGER)
    master = await make_staff(session, Role.MASTER)
    with pytest.raises(PermissionDenied):
        await add_service(session, master, "S1", "Замена экрана", 150000)
    service = await add_service(session, manager, " s1 ", "Замена  экрана", 150000)
    assert (service.code, service.name, service.price) == ("S1", "Замена экрана", 150000)
    with pytest.raises(DuplicateService) as dup:
        await add_service(session, manager, "s1", "Другое", 100)
    assert dup.value.params == {"service_code": "S1", "service_id": service.id}
    with pytest.raises(PermissionDenied):
        await edit_service(session, master, service.id, price=1)
    await edit_service(session, manager, service.id, name="Замена дисплея", price=160000)
    assert (service.name, service.search_name, service.price) == (
        "Замена дисплея", "замена дисплея", 160000)
    with pytest.raises(PermissionDenied):
        await archive_service(session, master, service.id)
    await archive_service(session, manager, service.id)
    assert service.archived
    actions = list(await session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity == "service").order_by(AuditEntry.id)
    ))
    assert actions == ["service.add", "service.edit", "service.archive"]


async def test_validation(session: AsyncSession) -> None:
    manager = await make_staff(session, Role.MANAGER)
    with pytest.raises(InvalidValue):
        await add_service(session, manager, "", "x", 1)
    with pytest.raises(InvalidValue):
        await add_service(session, manager, "X" * 33, "x", 1)
    with pytest.raises(InvalidValue):
        await add_service(session, manager, "A", "  ", 1)
    with pytest.raises(InvalidAmount):
        await add_service(session, manager, "A", "x", -1)
    free = await add_service(session, manager, "DIAG", "Диагностика", 0)
    assert free.price == 0  # free diagnostics is a real price-list line
    other = await add_service(session, manager, "B", "b", 1)
    with pytest.raises(DuplicateService):
        await edit_service(session, manager, other.id, code="diag")
    with pytest.raises(NotFound):
        await edit_service(session, manager, 999_999, price=1)


async def test_find_by_code_and_name_any_case_cyrillic(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    screen = await add_service(session, owner, "ЭКР1", "Замена экрана iPhone", 150000)
    glass = await add_service(session, owner, "G2", "Стекло ЭКРАНА", 50000)
    await add_service(session, owner, "BAT", "Батарея 100%_new", 90000)
    old = await add_service(session, owner, "OLD", "Экран старый", 1)
    await archive_service(session, owner, old.id)

    assert [s.id for s in await find_services(session, "экран")] == [screen.id, glass.id]
    assert [s.id for s in await find_services(session, "ЭКРАН")] == [screen.id, glass.id]
    assert [s.id for s in await find_services(session, "IPHONE")] == [screen.id]
    assert [s.id for s in await find_services(session, "экр1")] == [screen.id]  # exact code
    assert [s.code for s in await find_services(session, "g2")] == ["G2"]
    assert [s.code for s in await find_services(session, "100%_")] == ["BAT"]  # LIKE escaped
    assert await find_services(session, "%з") == []  # a literal %, not a wildcard
    assert await find_services(session, "  ") == []
    assert await find_services(session, "old") == []  # archived is not offered
    assert (await get_service_by_code(session, "old")) is not None  # but still exists


async def test_list_active_with_paging(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    for i in range(7):
        await add_service(session, owner, f"C{i}", f"Услуга {i}", 100 * i)
    archived = await add_service(session, owner, "C9", "Старая", 1)
    await archive_service(session, owner, archived.id)
    page, total = await list_services(session, offset=0, limit=5)
    assert total == 7 and [s.code for s in page] == ["C0", "C1", "C2", "C3", "C4"]
    page, total = await list_services(session, offset=5, limit=5)
    assert [s.code for s in page] == ["C5", "C6"]
    _, total = await list_services(session, include_archived=True)
    assert total == 8
    page, total = await archived_services(session, offset=0, limit=5)
    assert total == 1 and [s.code for s in page] == ["C9"]


async def test_payment_types_are_the_owners(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    manager = await make_staff(session, Role.MANAGER)
    with pytest.raises(PermissionDenied):
        await add_payment_type(session, manager, "Перевод", "Переказ", "cashless")
    transfer = await add_payment_type(session, owner, "Перевод", "Переказ", "cashless")
    assert transfer.position == 30 and transfer.title("uk") == "Переказ"
    with pytest.raises(InvalidValue):
        await add_payment_type(session, owner, "x", "x", "crypto")
    await edit_payment_type(session, owner, transfer.id, name_ru="Перевод на карту",
                            kind=PaymentKind.CASHLESS, active=False)
    assert [t.name_ru for t in await list_payment_types(session)] == ["Наличные", "Карта"]
    assert len(await list_payment_types(session, active_only=False)) == 3
    with pytest.raises(NotFound):
        await get_payment_type(session, transfer.id)  # inactive types take no money


async def test_the_last_active_payment_type_stays_on(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    cash, card = await list_payment_types(session)
    await edit_payment_type(session, owner, card.id, active=False)
    with pytest.raises(LastPaymentType):
        await edit_payment_type(session, owner, cash.id, active=False)
    assert cash.active
    await edit_payment_type(session, owner, card.id, active=True)
    await edit_payment_type(session, owner, cash.id, active=False)
    assert [t.id for t in await list_payment_types(session)] == [card.id]


async def test_moving_a_payment_type_up(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    manager = await make_staff(session, Role.MANAGER)
    cash, card = await list_payment_types(session)
    transfer = await add_payment_type(session, owner, "Перевод", "Переказ", "cashless")
    await edit_payment_type(session, owner, transfer.id, active=False)
    with pytest.raises(PermissionDenied):
        await move_payment_type_up(session, manager, card.id)
    await move_payment_type_up(session, owner, transfer.id)
    await move_payment_type_up(session, owner, cash.id)  # the first stays first
    order = [t.id for t in await list_payment_types(session, active_only=False)]
    assert order == [cash.id, transfer.id, card.id]
    assert set(await payment_types_by_id(session)) == set(order)  # switched-off ones too
