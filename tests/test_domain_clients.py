"""Clients and search."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.clients import (
    add_device,
    add_device_type,
    create_client,
    fill_serial,
    find_client_by_phone,
    list_device_types,
    search_clients,
    set_device_type_active,
    update_client,
)
from db.desk.models import Counter, Role
from db.errors import DuplicateClient, InvalidPhone, InvalidValue, NotFound, PermissionDenied
from tests.factories import make_client, make_staff, make_ticket

from .test_phones import SAME_NUMBER


async def test_find_by_any_spelling(session: AsyncSession) -> None:
    client = await create_client(session, None, phone="+38 (067) 123-45-67", name="Олена")
    for text in SAME_NUMBER:
        found = await find_client_by_phone(session, text)
        assert found is not None and found.id == client.id, text


async def test_find_by_extra_phone(session: AsyncSession) -> None:
    client = await create_client(session, None, phone="0671234567", extra_phone="050 111 22 33")
    found = await find_client_by_phone(session, "+380501112233")
    assert found is not None and found.id == client.id


async def test_duplicate_phone_refused(session: AsyncSession) -> None:
    first = await create_client(session, None, phone="0671234567")
    with pytest.raises(DuplicateClient) as info:
        await create_client(session, None, phone="+380 67 123 4567")
    assert info.value.client_id == first.id


async def test_invalid_phone_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidPhone):
        await create_client(session, None, phone="12345")
    with pytest.raises(InvalidPhone):
        await find_client_by_phone(session, "hello")


async def test_name_too_long(session: AsyncSession) -> None:
    with pytest.raises(InvalidValue):
        await create_client(session, None, phone="0671234567", name="x" * 200)


async def test_search_by_last_digits(session: AsyncSession) -> None:
    a = await create_client(session, None, phone="0671234567", name="Анна")
    b = await create_client(session, None, phone="0504444567", name="Борис")
    await create_client(session, None, phone="0939999999", name="Вера")
    ids = {h.client.id for h in await search_clients(session, "4567")}
    assert ids == {a.id, b.id}
    assert [h.client.id for h in await search_clients(session, "1234567")] == [a.id]
    assert await search_clients(session, "000000") == []


async def test_search_by_name_any_case_cyrillic(session: AsyncSession) -> None:
    client = await create_client(session, None, phone="0671234567", name="Олександр",
                                 surname="Шевченко")
    for text in ("шевч", "ШЕВЧЕНКО", "олександр", "Олександр Шев", "ЧЕНК"):
        assert [h.client.id for h in await search_clients(session, text)] == [client.id], text
    assert await search_clients(session, "Петров") == []


async def test_search_by_serial_and_ticket(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    client = await make_client(session)
    ticket = await make_ticket(session, master, client)
    # serial was "35-209900-176148-1": found by IMEI digits in any grouping
    assert [h.client.id for h in await search_clients(session, "352099001761481")] == [client.id]
    assert [h.reason for h in await search_clients(session, "176148")] == ["serial"]
    hits = await search_clients(session, f"#{ticket.number}")
    assert [(h.client.id, h.reason) for h in hits] == [(client.id, "ticket")]


async def test_search_escapes_like_wildcards(session: AsyncSession) -> None:
    await create_client(session, None, phone="0671234567", name="Анна")
    assert await search_clients(session, "%%") == []
    assert await search_clients(session, "__") == []


async def test_update_client_and_device(session: AsyncSession) -> None:
    staff = await make_staff(session, Role.MASTER)
    client = await make_client(session)
    await update_client(session, staff, client.id, name="Ира", extra_phone="0501112233",
                        comment="VIP")
    assert client.search_name.startswith("ира")
    assert client.extra_phone == "+380501112233"
    device = await add_device(session, staff, client.id, kind="Ноутбук", brand="Lenovo",
                              serial="PF-12 AB")
    assert device.serial_norm == "PF12AB"
    with pytest.raises(NotFound):
        await add_device(session, staff, 999999, kind="Телефон")
    with pytest.raises(InvalidValue):
        await add_device(session, staff, client.id, kind="")


async def test_device_types_are_the_owners_list(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    with pytest.raises(PermissionDenied):
        await add_device_type(session, master, "Наушники")
    for bad in ("   ", "x" * 41):
        with pytest.raises(InvalidValue):
            await add_device_type(session, owner, bad)
    headphones = await add_device_type(session, owner, "  Наушники  ")
    titles = [t.title("uk") for t in await list_device_types(session)]
    assert titles[-1] == "Наушники" and headphones.name_ru == "Наушники"
    await set_device_type_active(session, owner, headphones.id, False)
    assert "Наушники" not in [t.title("ru") for t in await list_device_types(session)]
    with pytest.raises(NotFound):
        await set_device_type_active(session, owner, 987654, True)


async def test_fill_serial_only_when_unknown(session: AsyncSession) -> None:
    staff = await make_staff(session, Role.MASTER)
    client = await make_client(session)
    device = await add_device(session, staff, client.id, kind="Телефон", brand="Xiaomi")
    await fill_serial(session, staff, device.id, " 35-2099 001761481 ")
    assert device.serial == "35-2099 001761481" and device.serial_norm == "352099001761481"
    await fill_serial(session, staff, device.id, "OTHER123")
    assert device.serial_norm == "352099001761481"
    assert [h.client.id for h in await search_clients(session, "001761481")] == [client.id]


async def test_former_staff_change_no_client_or_device(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    gone = await make_staff(session, Role.MASTER)
    gone.active = False
    client = await make_client(session)
    device = await add_device(session, owner, client.id, kind="Телефон")
    with pytest.raises(PermissionDenied):
        await create_client(session, gone, phone="0671112233")
    with pytest.raises(PermissionDenied):
        await update_client(session, gone, client.id, name="Чужой")
    with pytest.raises(PermissionDenied):
        await add_device(session, gone, client.id, kind="Ноутбук")
    with pytest.raises(PermissionDenied):
        await fill_serial(session, gone, device.id, "SN1")
    assert client.name == "Иван" and device.serial is None
    assert await find_client_by_phone(session, "0671112233") is None


async def test_bare_number_finds_phones_first_then_the_ticket(session: AsyncSession) -> None:
    staff = await make_staff(session, Role.MASTER)
    by_phone = await create_client(session, None, phone="0671234567", name="Анна")
    await session.execute(update(Counter).where(Counter.name == "ticket").values(value=4566))
    ticket = await make_ticket(session, staff)
    assert ticket.number == 4567
    hits = await search_clients(session, "4567")
    assert [(h.client.id, h.reason) for h in hits] == [(by_phone.id, "phone"),
                                                      (ticket.client_id, "ticket")]
    hits = await search_clients(session, "#4567")
    assert [(h.client.id, h.reason) for h in hits] == [(ticket.client_id, "ticket")]
