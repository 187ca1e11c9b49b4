"""Which column is which: headers in Russian, Ukrainian and English, as spreadsheets and repair
CRMs (RemOnline, ekassa, RepairDesk, …) export them, → the fields of db.desk.import_rows.

A header is compared in a normal form (case, ё/е, apostrophes and punctuation aside); one not
in the table is tried by its words (a "телефон" with "2"/"доп"/"second" is the extra phone);
the rest are ignored and shown in the preview. A second phone column becomes the extra phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADERS: dict[str, tuple[str, ...]] = {
    "phone": (
        "телефон", "тел", "телефон 1", "телефон1", "номер телефона", "номер телефону",
        "мобильный", "мобильный телефон", "мобільний", "мобільний телефон", "моб телефон",
        "телефон клиента", "телефон клієнта", "основной телефон", "основний телефон",
        "контактный телефон", "контактний телефон", "phone", "phone 1", "phone1",
        "phone number", "mobile", "mobile phone", "cell", "cell phone", "telephone", "tel",
        "primary phone", "contact phone", "customer phone", "client phone",
    ),
    "extra_phone": (
        "второй телефон", "телефон 2", "телефон2", "доп телефон", "дополнительный телефон",
        "другой телефон", "домашний телефон", "другий телефон", "додатковий телефон",
        "дод телефон", "домашній телефон", "second phone", "phone 2", "phone2",
        "additional phone", "alternative phone", "alt phone", "other phone", "secondary phone",
        "home phone", "work phone",
    ),
    "name": (
        "имя", "імя", "фио", "ф и о", "піб", "п і б", "клиент", "клієнт", "имя клиента",
        "імя клієнта", "контакт", "контактное лицо", "контактна особа", "покупатель",
        "покупець", "заказчик", "замовник", "name", "first name", "firstname", "given name",
        "full name", "fullname", "client", "client name", "customer", "customer name",
        "contact", "contact name",
    ),
    "surname": ("фамилия", "прізвище", "surname", "last name", "lastname", "family name"),
    "comment": (
        "комментарий", "комментарии", "примечание", "примечания", "заметка", "заметки",
        "коментар", "коментарі", "примітка", "примітки", "нотатка", "нотатки", "comment",
        "comments", "note", "notes", "remark", "remarks",
    ),
    "kind": (
        "тип", "тип устройства", "вид устройства", "тип техники", "вид техники", "категория",
        "тип пристрою", "вид пристрою", "тип техніки", "вид техніки", "категорія",
        "device type", "type", "category", "device category",
    ),
    "brand": ("бренд", "марка", "производитель", "виробник", "brand", "manufacturer", "make",
              "vendor"),
    "model": (
        "модель", "устройство", "пристрій", "аппарат", "апарат", "модель устройства",
        "модель пристрою", "model", "device", "device model",
    ),
    "serial": (
        "серийный номер", "серийный", "серійний номер", "серійний", "s n", "sn", "serial",
        "serial number", "serial no", "imei", "imei 1", "imei1", "imei sn", "imei s n",
        "sn imei", "s n imei", "imei serial", "imei серийный номер", "imei серійний номер",
    ),
}
_BY_HEADER = {header: name for name, headers in HEADERS.items() for header in headers}
_PHONE_WORDS = {"тел", "телефон", "телефона", "телефону", "phone", "mobile", "моб",
                "мобильный", "мобільний"}
_EXTRA_WORDS = {"2", "второй", "доп", "дополнительный", "другой", "другий", "додатковий",
                "дод", "second", "additional", "alt", "other", "secondary"}


def normal(header: str) -> str:
    text = header.casefold().replace("ё", "е")
    text = re.sub(r"['’`ʼ]", "", text)
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def guess(header: str) -> str | None:
    """The field a header names, or None."""
    key = normal(header)
    if key in _BY_HEADER:
        return _BY_HEADER[key]
    words = set(key.split())
    if "imei" in words or any(w.startswith(("серийн", "серійн", "serial")) for w in words):
        return "serial"
    if words & _PHONE_WORDS:
        return "extra_phone" if words & _EXTRA_WORDS else "phone"
    return None


@dataclass
class Columns:
    fields: dict[int, str] = field(default_factory=dict)  # column index -> field
    headers: dict[str, str] = field(default_factory=dict)  # field -> the header it came from
    ignored: list[str] = field(default_factory=list)  # headers not used


def map_headers(headers: list[str]) -> Columns:
    """Column index -> field; the first column of a field wins (a second phone column is the
    extra phone when there is no such column)."""
    columns = Columns()
    for index, header in enumerate(headers):
        name = guess(header) if header.strip() else None
        if name == "phone" and "phone" in columns.headers:
            name = "extra_phone"
        if name is None or name in columns.headers:
            if header.strip():
                columns.ignored.append(header.strip())
            continue
        columns.fields[index] = name
        columns.headers[name] = header.strip()
    return columns
