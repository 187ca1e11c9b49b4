"""What an intake accepts (db.desk.intake) and the use case refusing a draft over the limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.intake import DeviceIntake, IntakePhoto, accept_device
from db.desk.device_guess import (
    guess_device_type,
    looks_like_serial,
    split_model_and_defect,
    typed_device_type,
)
from db.desk.intake import (
    DEVICE_LINE_MAX,
    PHOTOS_MAX,
    SERVICES_MAX,
    brand_and_model,
    check_photos,
    defect_text,
    device_kind,
    lock_code_text,
    note_text,
    serial_text,
    toggle_service,
)
from db.desk.models import Role, Staff, Status, Ticket
from db.desk.tickets import NewDevice, TicketDraft
from db.errors import InvalidValue
from db.notify.outbox import Notice
from tests.factories import make_client, make_staff


def test_device_line() -> None:
    assert device_kind("  Игровая \n приставка ") == "Игровая приставка"
    assert len(device_kind("x" * 100)) == 64
    assert brand_and_model("Apple  iPhone 12 ") == ("Apple", "iPhone 12")
    assert brand_and_model("Nokia") == ("Nokia", "")
    for bad in ("   ", "x" * (DEVICE_LINE_MAX + 1)):
        with pytest.raises(InvalidValue):
            brand_and_model(bad)


def test_field_limits() -> None:
    assert defect_text("  не включается ") == "не включается"
    with pytest.raises(InvalidValue) as long_defect:
        defect_text("x" * 2001)
    assert long_defect.value.params["limit"] == 2000
    assert serial_text(" SN-1 ") == "SN-1" and lock_code_text("1234") == "1234"
    for check in (serial_text, lock_code_text):
        with pytest.raises(InvalidValue):
            check("x" * 65)
    assert len(note_text("y" * 600)) == 500
    check_photos(PHOTOS_MAX)
    with pytest.raises(InvalidValue):
        check_photos(PHOTOS_MAX + 1)


def test_services_on_the_quote() -> None:
    assert toggle_service([1, 2], 2) == [1]
    assert toggle_service([1], 3) == [1, 3]
    full = list(range(SERVICES_MAX))
    assert toggle_service(full, 999) == full


class NoMessages:
    """A refused intake queues nothing, so no wording is ever asked for."""

    async def intake(self, ticket: Ticket) -> Notice:
        raise AssertionError("intake")

    async def status(self, ticket: Ticket, status: Status) -> Notice:
        raise AssertionError("status")

    async def estimate(self, ticket: Ticket, due: int, event: int) -> Notice:
        raise AssertionError("estimate")

    async def answer_to_staff(self, ticket: Ticket, approved: bool, person: Staff) -> Notice:
        raise AssertionError("answer_to_staff")


async def test_use_case_refuses_too_many_photos(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    client = await make_client(session)
    photos = [IntakePhoto(file_id=f"f{i}", file_unique_id=f"u{i}")
              for i in range(PHOTOS_MAX + 1)]
    intake = DeviceIntake(client_id=client.id, ticket=TicketDraft(defect="Не включается"),
                          device=NewDevice(kind="Телефон"), photos=photos)
    with pytest.raises(InvalidValue):
        await accept_device(session, master, intake, NoMessages())
    assert await session.scalar(select(func.count()).select_from(Ticket)) == 0


# -- what the desk types: the device type guessed, "model, defect", a serial on the review ---

@pytest.mark.parametrize(("typed", "code"), [
    ("Apple iPhone 12", "phone"), ("iPhone12 Pro", "phone"), ("Samsung Galaxy A52", "phone"),
    ("Samsung Galaxy Tab S7", "tablet"), ("Xiaomi Redmi Note 8", "phone"),
    ("Xiaomi Redmi Pad SE", "tablet"), ("Apple MacBook Air M1", "laptop"),
    ("MacBook Pro 14", "laptop"), ("iPad Air 4", "tablet"), ("Lenovo IdeaPad 5", "laptop"),
    ("Lenovo Tab M10", "tablet"), ("HP 250 G8", "laptop"), ("LG 43UP7500", "tv"),
    ("Sony Bravia KD-55", "tv"), ("Apple iMac 24", "pc"), ("Huawei P30", "phone"),
])
def test_device_type_guessed_from_the_model(typed: str, code: str) -> None:
    assert guess_device_type(typed) == code


@pytest.mark.parametrize("typed", ["Наушники", "Kärcher K5", "Bosch GSR 12V", "", "Apple"])
def test_no_guess_where_no_rule_fits(typed: str) -> None:
    assert guess_device_type(typed) is None


def test_model_and_defect_in_one_message() -> None:
    assert split_model_and_defect("iPhone 12, не заряжается, гнездо шатается") == (
        "iPhone 12", "не заряжается, гнездо шатается")
    assert split_model_and_defect("  Lenovo T14  ") == ("Lenovo T14", "")
    assert split_model_and_defect("Lenovo T14,") == ("Lenovo T14,", "")
    assert split_model_and_defect(", разбит") == (", разбит", "")


@pytest.mark.parametrize(("typed", "serial"), [
    ("SN-777", True), ("35 209900 176148 1", True), ("C02XK0JHJG5J", True),
    ("#12", False), ("1234", False), ("не включается", False), ("ABCDEF", False),
    ("серийник 123", False), ("S" * 30 + "1" * 30, True), ("1" * 65, False),
])
def test_a_serial_typed_on_the_review(typed: str, serial: bool) -> None:
    assert looks_like_serial(typed) is serial


def test_what_is_typed_at_the_type_question() -> None:
    assert typed_device_type("iPhone 12, не заряжается") == "phone"
    assert typed_device_type("Bosch GSR 12V") == "other"  # a model no rule knows
    assert typed_device_type("Kärcher, не включается") == "other"
    assert typed_device_type("Наушники") is None  # a type of the shop's own
