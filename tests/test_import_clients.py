"""Import of a client base: reading CSV/XLSX, headers, refused rows, merging, bulk speed."""

from __future__ import annotations

import io
import time
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db.desk.bulk_import as bulk_import
from bot.ops.import_file import ImportFileError, load
from db.desk.bulk_import import apply_import, preview_import
from db.desk.clients import add_device
from db.desk.models import AuditEntry, Client, Device, Role
from db.errors import PermissionDenied
from tests.factories import make_client, make_staff


def csv_bytes(rows: list[list[str]], delimiter: str = ";", encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join(delimiter.join(r) for r in rows).encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


HEADERS = {
    "ru": ["Телефон", "Имя", "Фамилия", "Доп. телефон", "Комментарий", "Тип устройства",
           "Производитель", "Модель", "Серийный номер"],
    "uk": ["Номер телефону", "Ім'я", "Прізвище", "Додатковий телефон", "Примітка",
           "Тип пристрою", "Виробник", "Модель", "Серійний номер"],
    "en": ["Phone", "First Name", "Last Name", "Phone 2", "Notes", "Device Type", "Brand",
           "Model", "IMEI/SN"],
}
ROW = ["067 123 45 67", "Іван", "Петренко", "+380501112233", "постійний клієнт", "Телефон",
       "Apple", "iPhone 12", "35-209900-176148-1"]


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
@pytest.mark.parametrize("form", ["csv;utf8bom", "csv,cp1251", "csv\tutf8", "xlsx"])
async def test_headers_in_three_languages_and_formats(session: AsyncSession, lang: str,
                                                      form: str) -> None:
    rows = [HEADERS[lang], ROW]
    if form == "xlsx":
        data = xlsx_bytes([HEADERS[lang], [380671234567, *ROW[1:]]])  # a phone typed as number
    else:
        encoding = {"utf8bom": "utf-8-sig", "cp1251": "cp1251", "utf8": "utf-8"}[form[4:]]
        data = csv_bytes(rows, form[3], encoding)
    loaded = load(data)
    assert set(loaded.columns.headers) == {"phone", "name", "surname", "extra_phone", "comment",
                                           "kind", "brand", "model", "serial"}
    summary = await apply_import(session, None, loaded.parsed)
    assert (summary.clients_new, summary.devices_new, summary.refused) == (1, 1, [])
    client = await session.scalar(select(Client))
    device = await session.scalar(select(Device))
    assert client is not None and device is not None
    assert (client.phone, client.name, client.surname, client.extra_phone, client.comment) == (
        "+380671234567", "Іван", "Петренко", "+380501112233", "постійний клієнт")
    assert client.search_name == "іван петренко" and client.phone_rev == "765432176083"
    assert (device.client_id, device.kind, device.brand, device.model, device.serial_norm) == (
        client.id, "Телефон", "Apple", "iPhone 12", "352099001761481")


async def test_broken_rows_are_listed_and_the_rest_imported(session: AsyncSession) -> None:
    data = csv_bytes([
        ["ФИО", "Телефон", "Email", "Модель"],
        ["Ок Один", "0671234567", "a@b.c", "Redmi 9"],
        ["Без телефона", "", "", "Galaxy"],
        ["Короткий", "12345", "", ""],
        ["Буквы", "звонить вечером", "", ""],
        ["", "", "", ""],
        ["Несуществующий", "+380001234567", "", ""],
        ["Два номера", "050 765 43 21, 093 111 22 33", "", ""],
        ["Длинное имя " + "я" * 200, "0631234567", "", ""],
    ])
    loaded = load(data)
    assert loaded.columns.ignored == ["Email"]
    summary = await preview_import(session, loaded.parsed)
    assert [(r.line, r.reason) for r in summary.refused] == [
        (3, "phone_missing"), (4, "phone_too_short"), (5, "phone_not_a_number"),
        (7, "phone_invalid"), (9, "too_long")]
    assert (summary.rows, summary.blank, summary.importable, summary.clients_new) == (8, 1, 2, 2)
    assert await count(session, Client) == 0  # a preview writes nothing

    await apply_import(session, None, loaded.parsed)
    phones = set(await session.scalars(select(Client.phone)))
    assert phones == {"+380671234567", "+380507654321"}
    two = await session.scalar(select(Client).where(Client.phone == "+380507654321"))
    assert two is not None and two.extra_phone == "+380931112233"


async def test_duplicates_are_merged_never_overwritten(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    known = await make_client(session, "+380671234567", name="Иван", surname="")
    await add_device(session, owner, known.id, kind="Телефон", brand="Apple", model="iPhone 12")
    by_extra = await make_client(session, "+380501111111", name="Оля", surname="Ко")
    by_extra.extra_phone = "+380932222222"
    await session.flush()
    data = csv_bytes([
        ["Телефон", "Имя", "Фамилия", "Примечание", "Бренд", "Модель", "IMEI"],
        # the existing client: name kept, surname and comment filled, the serial learned
        ["+380671234567", "Иоанн", "Петренко", "VIP", "apple", "IPHONE 12", "111"],
        # the same phone again in the file: one more device, no second client
        ["067-123-45-67", "", "", "другой комментарий", "Samsung", "A52", ""],
        # a new client twice: fields from both rows, one device
        ["0631234567", "Петя", "", "", "Xiaomi", "Redmi 9", "ABC-1"],
        ["0631234567", "", "Сидоров", "с 2019", "Xiaomi", "Redmi 9", "abc1"],
        # found by the extra phone of an existing client
        ["0932222222", "Ольга", "", "через мужа", "", "", ""],
    ])
    loaded = load(data)
    summary = await apply_import(session, owner, loaded.parsed, source="base.csv")
    assert (summary.folded, summary.clients_new, summary.clients_merged,
            summary.clients_filled, summary.devices_new, summary.devices_known) == (
        2, 1, 2, 2, 2, 1)
    await session.refresh(known)
    assert (known.name, known.surname, known.comment) == ("Иван", "Петренко", "VIP")
    devices = list(await session.scalars(
        select(Device).where(Device.client_id == known.id).order_by(Device.id)))
    assert [(d.model, d.serial) for d in devices] == [("iPhone 12", "111"), ("A52", None)]
    new = await session.scalar(select(Client).where(Client.phone == "+380631234567"))
    assert new is not None and (new.name, new.surname, new.comment) == ("Петя", "Сидоров",
                                                                        "с 2019")
    assert await session.scalar(select(func.count()).select_from(Device).where(
        Device.client_id == new.id)) == 1
    await session.refresh(by_extra)
    assert (by_extra.name, by_extra.comment) == ("Оля", "через мужа")
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "client.import"))
    assert entry is not None and entry.staff_id == owner.id and entry.data["clients_new"] == 1

    again = await preview_import(session, loaded.parsed)  # importing twice changes nothing
    assert (again.clients_new, again.clients_filled, again.devices_new) == (0, 0, 0)


async def test_only_owners_import_and_a_failure_keeps_nothing(
        session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load(csv_bytes([["Телефон", "Модель"], ["0671234567", "X"], ["0501234567", "Y"]]))
    async with session_factory() as session, session.begin():
        master = await make_staff(session, Role.MASTER)
        with pytest.raises(PermissionDenied):
            await apply_import(session, master, loaded.parsed)

    original = bulk_import._write

    async def clients_then_failure(session: AsyncSession, plan: Any) -> None:
        await original(session, plan)
        assert await count(session, Client) == 2  # written, not committed
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk_import, "_write", clients_then_failure)
    with pytest.raises(RuntimeError):
        async with session_factory() as session, session.begin():
            await apply_import(session, None, loaded.parsed)
    async with session_factory() as session:
        assert await count(session, Client) == 0 and await count(session, Device) == 0


@pytest.mark.parametrize(("data", "code"), [
    (b"", "no_header"),
    (csv_bytes([["Имя", "Email"], ["Иван", "a@b.c"]]), "no_phone_column"),
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "xls"),
    (b"PK\x03\x04broken zip", "unreadable"),
])
def test_unreadable_files(data: bytes, code: str) -> None:
    with pytest.raises(ImportFileError) as info:
        load(data)
    assert info.value.code == code


async def test_ten_thousand_rows_import_in_seconds(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    rows = [["Телефон", "Имя", "Фамилия", "Тип", "Бренд", "Модель", "IMEI", "Комментарий"]]
    for n in range(10_000):
        phone = f"067{n:07d}" if n % 50 else f"{n}"  # every 50th phone is broken
        rows.append([phone, f"Имя{n}", f"Фамилия{n}", "Телефон", "Samsung", f"A{n % 90}",
                     f"35{n:013d}", "из старой базы"])
    async with session_factory() as session, session.begin():
        await make_client(session, "0670000001", name="Уже есть")  # merged, not duplicated
    data = csv_bytes(rows)

    started = time.perf_counter()
    loaded = load(data)
    async with session_factory() as session, session.begin():
        summary = await apply_import(session, None, loaded.parsed)
    seconds = time.perf_counter() - started

    assert len(summary.refused) == 200 and summary.clients_merged == 1
    assert summary.clients_new == 9_799 and summary.devices_new == 9_800
    async with session_factory() as session:
        assert await count(session, Client) == 9_800 and await count(session, Device) == 9_800
    print(f"\n[import] {len(rows) - 1} rows ({len(data)} bytes) in {seconds:.2f} s = "
          f"{(len(rows) - 1) / seconds:.0f} rows/s; {len(summary.refused)} refused")
