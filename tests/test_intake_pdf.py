"""The intake receipt PDF ("квитанція про прийом"): opened with pypdf, its text holds the ticket
number, the client, the device with serial, condition and kit, the defect, the estimate, the
owner's terms (or the default ones) in the client's language, and a QR image; the button on the
card gives it to the master and one copy to the client's linked chat; the terms are the
owner's to set in /settings."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument
from PIL import Image, ImageChops
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from bot.usecases.intake_receipt import receipt_facts
from bot.views import intake_receipt
from bot.views.intake_receipt import intake_receipt_pdf
from bot.views.labels import qr_png
from db.desk.models import Client, Role, Staff, Ticket
from db.desk.receipt_terms import TERMS_MAX, get_terms, set_terms
from db.errors import InvalidValue, PermissionDenied
from db.notify.models import MediaKind, MessageKind, OutboxMessage
from keyboards.callbacks import TicketAction, TicketCb
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import OWNER_ID, Desk
from tests.handler_kit import test_settings as shop_settings

ROOT = Path(__file__).resolve().parents[1]
MASTER_ID = 2
CLIENT_CHAT = 5001
PHONE = "+380671112233"
LINK = "https://t.me/test_bot?start=st_token"
UK_TERMS = "Гарантія на роботу — 90 днів.\nПристрій зберігається 60 днів."


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def qr_of(pdf: bytes) -> Image.Image:
    [image] = PdfReader(io.BytesIO(pdf)).pages[0].images
    return image.image.convert("L")


def encodes(pdf: bytes, link: str) -> bool:
    """The PDF's one image is, pixel for pixel, the QR of `link`."""
    expected = Image.open(io.BytesIO(qr_png(link, box_size=8))).convert("L")
    return ImageChops.difference(qr_of(pdf), expected).getbbox() is None


def flat(text: str) -> str:
    """Extracted text with line breaks and repeated spaces folded (fpdf justifies nothing, but
    long values wrap)."""
    return " ".join(text.split())


async def seed(session: AsyncSession, *, language: str | None = None, chat: int | None = None,
               ) -> int:
    master = await make_staff(session, Role.MASTER, name="Петро", tg_user_id=MASTER_ID)
    client = await make_client(session, PHONE, name="Олена", surname="Коваль")
    client.language = language
    client.tg_chat_id = chat
    ticket = await make_ticket(session, master, client, defect="Не вмикається після падіння",
                               condition="Подряпини на кришці", kit="Чохол, зарядка",
                               estimate=150_000)
    return ticket.id


async def render(session: AsyncSession, ticket_id: int) -> tuple[bytes, str]:
    settings = shop_settings()
    facts = await receipt_facts(session, ticket_id, settings.client_language)
    i18n = make_i18n("ru")
    with i18n.context(), i18n.use_locale(facts.language):
        pdf = intake_receipt_pdf(facts, settings.shop, LINK, settings.tz)
    return pdf, facts.language


async def test_the_pdf_holds_the_ticket_and_the_owners_terms(session: AsyncSession) -> None:
    ticket_id = await seed(session)
    owner = await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID)
    await set_terms(session, owner, "uk", UK_TERMS)
    pdf, language = await render(session, ticket_id)
    assert pdf.startswith(b"%PDF-") and language == "uk"
    text = flat(pdf_text(pdf))
    for expected in ("Квитанція про прийом у ремонт №1", "Ремонт-Сервис",
                     "Київ, Хрещатик 1", "+380441234567",
                     "Олена Коваль", "+380 67 111 2233",
                     "Телефон Apple iPhone 12", "35-209900-176148-1",
                     "Подряпини на кришці", "Чохол, зарядка",
                     "Не вмикається після падіння", "1 500,00",
                     "Умови", "Гарантія на роботу — 90 днів.", "Пристрій зберігається 60 днів.",
                     "Прийняв: Петро", "Здав (клієнт)"):
        assert expected in text, expected
    assert "Условия" not in text  # the labels are the client's language too
    assert "1. Вартість і термін ремонту" not in text  # the owner's terms replace the default
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert encodes(pdf, LINK) and not encodes(pdf, LINK + "x")  # the status QR
    assert reader.metadata is not None and reader.metadata.title == "Квитанція про прийом №1"


async def test_default_terms_in_a_russian_clients_language(session: AsyncSession) -> None:
    ticket_id = await seed(session, language="ru")
    pdf, language = await render(session, ticket_id)
    text = flat(pdf_text(pdf))
    assert language == "ru"
    assert "Квитанция о приёме в ремонт №1" in text
    assert "Неисправность: Не вмикається після падіння" in text
    assert "Условия 1. Стоимость и срок ремонта сообщаются после диагностики" in text
    assert "Гарантія" not in text  # uk terms are not a ru client's


async def test_a_long_defect_wraps_and_the_estimate_may_be_unknown(
    session: AsyncSession,
) -> None:
    master = await make_staff(session, Role.MASTER)
    client = await make_client(session, PHONE)
    long_defect = "Не заряджається, " * 60
    ticket = await make_ticket(session, master, client, defect=long_defect.strip())
    pdf, _ = await render(session, ticket.id)
    text = flat(pdf_text(pdf))
    assert text.count("Не заряджається") == 60
    assert "Вартість (попер.): після діагностики" in text


async def test_terms_are_the_owners_and_bounded(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    with pytest.raises(PermissionDenied):
        await set_terms(session, master, "uk", "Свої умови")
    with pytest.raises(InvalidValue):
        await set_terms(session, owner, "uk", "x" * (TERMS_MAX + 1))
    with pytest.raises(InvalidValue):
        await set_terms(session, owner, "en", "Terms")
    await set_terms(session, owner, "ru", "  Свои условия  ")
    assert await get_terms(session, "ru") == "Свои условия"
    assert await get_terms(session, "uk") is None
    await set_terms(session, owner, "ru", " ")  # empty: back to the default
    assert await get_terms(session, "ru") is None


def test_the_font_ships_with_the_package() -> None:
    """No system font is needed: DejaVu Sans (with its license) is package data."""
    fonts = Path(intake_receipt.__file__).parent / "fonts"
    assert fonts == ROOT / "bot" / "views" / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE_DEJAVU"):
        assert (fonts / name).is_file(), name
    assert "Bitstream" in (fonts / "LICENSE_DEJAVU").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = project["tool"]["setuptools"]["package-data"]["bot.views"]
    assert "fonts/*.ttf" in data and "fonts/LICENSE_DEJAVU" in data
    assert any(d.startswith("fpdf2") for d in project["project"]["dependencies"])
    assert "usr/share" not in Path(intake_receipt.__file__).read_text()


# -- through the bot -------------------------------------------------------------------------

@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


def receipt_button(ticket_id: int) -> str:
    return TicketCb(action=TicketAction.RECEIPT, id=ticket_id).pack()


def answers(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery)]


async def copies(sf: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sf() as s:
        return list(await s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == MessageKind.INTAKE_DOC)))


async def test_the_card_button_gives_the_master_the_pdf_and_the_client_a_copy(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        await seed(s, chat=CLIENT_CHAT)
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "🧾 Квитанция о приёме (PDF)")
    [document] = desk.bot.calls(SendDocument)
    assert document.chat_id == MASTER_ID
    assert document.caption is not None and document.caption.startswith(
        "🧾 Квитанция о приёме [1]")
    file_id = next(iter(desk.bot.session.uploads))
    pdf = desk.bot.session.uploads[file_id]
    text = flat(pdf_text(pdf))
    assert "Квитанція про прийом у ремонт №1" in text and "Олена Коваль" in text
    async with session_factory() as s:
        token = (await s.scalar(select(Ticket))).public_token  # type: ignore[union-attr]
    assert encodes(pdf, f"https://t.me/test_bot?start=st_{token}")  # the status deep link
    assert answers(desk)[-1] == "📨 Копия уходит клиенту в Telegram."
    [copy] = await copies(session_factory)
    assert copy.media_kind == MediaKind.DOCUMENT and copy.media_ref == file_id
    assert copy.chat_id == CLIENT_CHAT and copy.text.startswith("🧾 Квитанція про прийом №1.")
    assert "https://t.me/test_bot?start=st_" in copy.text

    # Again: the master gets a fresh PDF, the client no second copy.
    await desk.tap(MASTER_ID, "🧾 Квитанция о приёме (PDF)")
    assert len(desk.bot.calls(SendDocument)) == 1
    assert answers(desk)[-1] == "Клиенту квитанция уже отправлялась."
    assert len(await copies(session_factory)) == 1


async def test_no_copy_without_a_chat_and_no_receipt_for_strangers(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        ticket_id = await seed(s)
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "🧾 Квитанция")
    assert len(desk.bot.calls(SendDocument)) == 1
    assert await copies(session_factory) == []
    # A client (not staff) with a forged button gets nothing.
    await desk.press(CLIENT_CHAT, receipt_button(ticket_id))
    assert desk.bot.calls(SendDocument) == [] and answers(desk) == ["Немає доступу."]
    # An unknown ticket: said so, nothing sent.
    data, card = desk.find_button(MASTER_ID, "🧾 Квитанция")
    assert data == receipt_button(ticket_id)
    await desk.press(MASTER_ID, receipt_button(999), card)
    assert answers(desk)[-1] == "Обращение не найдено."
    assert desk.bot.calls(SendDocument) == []


async def test_the_owner_sets_the_terms_in_settings(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "🧾 Квитанция о приёме")
    assert "Условия в квитанции о приёме" in texts[-1]
    assert "(по умолчанию)" in texts[-1] and "1. Вартість і термін ремонту" in texts[-1]
    await desk.tap(OWNER_ID, "✏️ украинский")
    texts = await desk.send(OWNER_ID, UK_TERMS)
    assert texts[-1].startswith("✅ Условия сохранены.")
    assert "Гарантія на роботу — 90 днів." in texts[-1]
    async with session_factory() as s:
        assert await get_terms(s, "uk") == UK_TERMS
        ticket_id = await seed(s)
        await s.commit()
    async with session_factory() as s:
        pdf, _ = await render(s, ticket_id)
    assert "Гарантія на роботу — 90 днів." in flat(pdf_text(pdf))
    # Back to the default with a tap.
    await desk.tap(OWNER_ID, "↩️ По умолчанию (украинский)")
    async with session_factory() as s:
        assert await get_terms(s, "uk") is None
    # A master cannot, even with forged data.
    await desk.press(MASTER_ID, "rt:edit:uk")
    texts = await desk.send(MASTER_ID, "Мої умови")
    async with session_factory() as s:
        assert await get_terms(s, "uk") is None
        staff = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        assert staff is not None and staff.role == Role.MASTER
        assert await s.scalar(select(Client).where(Client.phone == PHONE)) is not None
