"""/shift (open, X, Z), "Повторить" on fiscal errors and receipts for people, through the real
Dispatcher with the recording bot; the fiscal ones against the Checkbox emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import Services
from db.desk.models import Client, Role, Staff
from db.desk.staff import get_staff_by_tg
from db.fiscal.queue import FiscalKind
from db.money.models import FiscalState, Receipt, Shift, ShiftStatus
from db.money.payments import PayPart, pay_receipt
from db.money.refunds import refund
from keyboards.callbacks import ReceiptPrintCb
from keyboards.fiscal import FiscalRetryCb, ShiftAction, ShiftCb
from tests.emulators.checkbox import CheckboxEmulator
from tests.factories import make_staff, make_ticket
from tests.handler_kit import OWNER_ID, Desk
from tests.handler_kit import test_settings as make_settings
from tests.test_fiscal_pipeline import LICENSE, PIN
from tests.test_money_support import card_type, cash_type, receipt_for

MASTER_ID = 2
CLIENT_CHAT = 5555


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


async def staff(desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await desk.send(OWNER_ID, "/start")  # the owner's row (OWNER_IDS)
    async with session_factory() as session, session.begin():
        await make_staff(session, Role.MASTER, tg_user_id=MASTER_ID, name="Петя")


async def pay(session_factory: async_sessionmaker[AsyncSession], price: int = 25000, *,
              received: int | None = None, when: datetime | None = None, fiscal: bool = False,
              ticket: bool = False, card: bool = False) -> Receipt:
    async with session_factory() as session, session.begin():
        actor = await get_staff_by_tg(session, MASTER_ID)
        on = await make_ticket(session, actor) if ticket else None
        receipt = await receipt_for(session, actor, price, on, name="Заміна екрана")
        kind = await card_type(session) if card else await cash_type(session)
        result = await pay_receipt(session, actor, receipt.id,
                                   [PayPart(kind.id, price, received)],
                                   now=when or datetime.now(UTC), fiscal=fiscal)
        return result.receipt


def answers(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery)]


def services(desk: Desk) -> Services:
    return desk.dp["services"]


# -- /shift ---------------------------------------------------------------------------------------

async def test_no_shift_then_open_by_hand(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    texts = await desk.send(OWNER_ID, "/shift")
    assert "Кассовая смена не открыта" in texts[-1]
    assert "Чеки внутренние" in texts[-1] and "Автозакрытие смены в 23:50" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Открыть смену")
    assert answers(desk) == ["Смена №1 открыта."]
    assert "Кассовая смена №1</b> — открыта" in texts[-1]
    assert {"📊 X-отчёт", "🔒 Закрыть смену (Z)"} <= set(desk.buttons(OWNER_ID))


async def test_master_sees_the_shift_but_cannot_close_it(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory)
    texts = await desk.send(MASTER_ID, "/shift")
    assert "Кассовая смена №1</b> — открыта" in texts[-1] and "250,00" in texts[-1]
    assert desk.buttons(MASTER_ID) == ["🔄 Обновить"]
    for action in ("zok", "z", "x", "open"):
        await desk.press(MASTER_ID, ShiftCb(action=action, id=receipt.shift_id).pack())
        assert answers(desk) == ["Это могут только владелец и менеджер."]
    async with session_factory() as session:
        assert (await session.get(Shift, receipt.shift_id)).status == ShiftStatus.OPEN


async def test_x_then_z_with_confirmation_internal_receipts(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory, 25000, received=30000)
    await pay(session_factory, 10000, card=True)
    texts = await desk.send(OWNER_ID, "/shift")
    assert "Продажи: 2 чек(ов) на 350,00" in texts[-1]
    texts = await desk.tap(OWNER_ID, "X-отчёт")
    assert "X-отчёт</b> · смена №1" in texts[-1] and "Сдача выдана: 50,00" in texts[-1]
    assert "<b>В кассе сейчас: 250,00" in texts[-1]

    texts = await desk.tap(OWNER_ID, "Закрыть смену (Z)")
    assert "Закрыть смену №1?" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Да, закрыть")
    assert answers(desk) == ["Закрываю смену…"]
    summary = texts[-1]
    assert "Смена №1 закрыта" in summary and "Власник" not in summary
    assert "Чеки внутренние (без ПРРО)." in summary and "В кассе на закрытии: 250,00" in summary
    async with session_factory() as session:
        shift = await session.get(Shift, receipt.shift_id)
        owner = await get_staff_by_tg(session, OWNER_ID)
    assert shift.status == ShiftStatus.CLOSED and shift.closed_by_id == owner.id
    # the same confirmation again (an old message): nothing else is closed
    await desk.press(OWNER_ID, ShiftCb(action="zok", id=receipt.shift_id).pack())
    assert desk.bot.texts()[-1] == "Эта смена уже закрыта."


async def test_an_old_z_confirmation_never_closes_a_newer_shift(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    first = await pay(session_factory)
    await desk.send(OWNER_ID, "/shift")
    await desk.tap(OWNER_ID, "Закрыть смену (Z)")
    await desk.tap(OWNER_ID, "Да, закрыть")
    second = await pay(session_factory)  # the next payment opens shift №2
    assert second.shift_id != first.shift_id
    await desk.press(OWNER_ID, ShiftCb(action="zok", id=first.shift_id).pack())
    assert desk.bot.texts()[-1] == "Эта смена уже закрыта."
    async with session_factory() as session:
        assert (await session.get(Shift, second.shift_id)).status == ShiftStatus.OPEN


async def test_a_24_hour_old_shift_says_so_and_how_to_close_it(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    await pay(session_factory, when=datetime.now(UTC) - timedelta(hours=25))
    texts = await desk.send(OWNER_ID, "/shift")
    assert "больше 24 часов" in texts[-1] and "«Закрыть смену (Z)»" in texts[-1]


# -- fiscal: X and Z through Checkbox -------------------------------------------------------------

@pytest.fixture
async def fiscal_desk(session_factory: async_sessionmaker[AsyncSession]
                      ) -> AsyncIterator[tuple[Desk, CheckboxEmulator]]:
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN, receipt_polls=0, shift_polls=0)
    async with emu.serve() as url:
        settings = make_settings(fiscal_provider="checkbox", checkbox_api_url=url,
                                 checkbox_license_key=LICENSE, checkbox_pin_code=PIN)
        desk = Desk(session_factory, settings)
        yield desk, emu
        await services(desk).aclose()


async def test_fiscal_x_and_z_go_through_the_prro(
    fiscal_desk: tuple[Desk, CheckboxEmulator],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    desk, emu = fiscal_desk
    await staff(desk, session_factory)
    receipt = await pay(session_factory, 25000, fiscal=True)
    texts = await desk.send(OWNER_ID, "/shift")
    assert "ПРРО Checkbox: в очереди 1, с ошибкой 0." in texts[-1]
    texts = await desk.tap(OWNER_ID, "X-отчёт")
    assert "X-отчёт</b> · смена №1" in texts[0]
    assert "В ПРРО смена ещё не открыта" in texts[-1]

    await desk.tap(OWNER_ID, "Закрыть смену (Z)")
    texts = await desk.tap(OWNER_ID, "Да, закрыть")
    summary = texts[-1]
    assert "Смена №1 закрыта" in summary and "Z-отчёт ПРРО №" in summary
    assert emu.fiscalized[receipt.fiscal_id] == 1  # flushed before the Z-report
    assert emu.count("POST", "/shifts/close") == 1
    async with session_factory() as session:
        shift = await session.get(Shift, receipt.shift_id)
        stored = await session.get(Receipt, receipt.id)
    assert shift.status == ShiftStatus.CLOSED and shift.z_report["fiscal"]["sell_sum"] == 25000
    assert stored.fiscal_state == FiscalState.DONE


async def test_open_shift_opens_the_prro_shift_too(
    fiscal_desk: tuple[Desk, CheckboxEmulator],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    desk, emu = fiscal_desk
    await staff(desk, session_factory)
    await desk.send(OWNER_ID, "/shift")
    texts = await desk.tap(OWNER_ID, "Открыть смену")
    assert "Смена в ПРРО открыта (№1)." in texts[-1]
    assert emu.current_shift is not None and emu.current_shift["status"] == "OPENED"
    texts = await desk.tap(OWNER_ID, "X-отчёт")
    assert "X-отчёт ПРРО" in texts[-1]


async def test_retry_button_puts_a_refused_receipt_back(
    fiscal_desk: tuple[Desk, CheckboxEmulator],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    desk, _emu = fiscal_desk
    await staff(desk, session_factory)
    receipt = await pay(session_factory, fiscal=True)
    async with session_factory() as session, session.begin():
        stored = await session.get(Receipt, receipt.id)
        stored.fiscal_state, stored.fiscal_error = FiscalState.ERROR, "Помилка ДПС"
    texts = await desk.send(OWNER_ID, "/shift")
    assert "с ошибкой 1" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Ошибки фискализации: 1")
    assert "Помилка ДПС" in texts[-1] and f"Чек №{receipt.id}" in texts[-1]
    wakeup = services(desk).fiscal_wakeup
    wakeup.clear()  # the payment made above woke it on its commit
    await desk.tap(OWNER_ID, f"Чек №{receipt.id}")
    assert answers(desk) == ["Поставлено в очередь: отправлю в ПРРО сейчас."]
    assert wakeup.is_set()
    async with session_factory() as session:
        stored = await session.get(Receipt, receipt.id)
    assert stored.fiscal_state == FiscalState.PENDING
    # twice, forged kinds and ids: refused, nothing changes
    for data in (FiscalRetryCb(kind=FiscalKind.RECEIPT, id=receipt.id).pack(), "fr:x:1",
                 FiscalRetryCb(kind=FiscalKind.RECEIPT, id=999999).pack(),
                 FiscalRetryCb(kind=FiscalKind.CASH_MOVE, id=receipt.id).pack()):
        await desk.press(OWNER_ID, data)
        assert answers(desk) == ["Этот чек уже не в ошибке (или не найден)."]


# -- receipts for people --------------------------------------------------------------------------

async def test_internal_receipt_is_marked_non_fiscal(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory, 25000, received=30000)
    texts = await desk.press(MASTER_ID, ReceiptPrintCb(id=receipt.id).pack())
    text = texts[-1]
    assert "<b>Ремонт-Сервис</b>" in text and "Київ, Хрещатик 1 · +380441234567" in text
    assert f"<b>Чек №{receipt.id}</b>" in text and "Заміна екрана" in text
    assert "1 × 250,00\u00a0₴ = 250,00\u00a0₴" in text and "Итого: 250,00" in text
    assert "Наличные: 250,00\u00a0₴ (получено 300,00\u00a0₴, сдача 50,00\u00a0₴)" in text
    assert "Нефискальный чек (внутренний)" in text
    assert desk.bot.calls(SendPhoto) == []


async def test_fiscal_receipt_has_number_link_and_qr(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory, fiscal=True)
    url = "https://cabinet.tax.gov.ua/cashregs/check?fn=4000000001&id=TEST-1"
    async with session_factory() as session, session.begin():
        stored = await session.get(Receipt, receipt.id)
        stored.fiscal_state, stored.fiscal_code = FiscalState.DONE, "TEST-1"
        stored.fiscal_date, stored.tax_url = datetime(2026, 3, 2, 8, 1, tzinfo=UTC), url
    texts = await desk.press(OWNER_ID, ReceiptPrintCb(id=receipt.id).pack())
    assert "Фискальный чек № <b>TEST-1</b>" in texts[0]
    assert "Дата фискализации: 02.03.2026 10:01" in texts[0]
    assert url.replace("&", "&amp;") in texts[0]  # HTML parse mode
    photo = desk.bot.last(SendPhoto)
    assert photo.chat_id == OWNER_ID and "налоговой" in (photo.caption or "")


async def test_pending_receipt_says_it_is_still_being_fiscalized(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(fiscal_provider="checkbox", checkbox_license_key="k",
                             checkbox_pin_code="1")
    desk = Desk(session_factory, settings)
    await staff(desk, session_factory)
    receipt = await pay(session_factory, fiscal=True)
    texts = await desk.press(OWNER_ID, ReceiptPrintCb(id=receipt.id).pack())
    assert "ещё фискализируется" in texts[-1]
    await services(desk).aclose()


async def test_refunds_are_listed_on_the_original(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory, 30000, card=True)
    async with session_factory() as session, session.begin():
        owner = await get_staff_by_tg(session, OWNER_ID)
        back = await refund(session, owner, receipt.id, None, (await card_type(session)).id)
    texts = await desk.press(OWNER_ID, ReceiptPrintCb(id=receipt.id).pack())
    assert f"• №{back.receipt.id}" in texts[-1] and "Итого с учётом возвратов: 0,00" in texts[-1]
    texts = await desk.press(OWNER_ID, ReceiptPrintCb(id=back.receipt.id).pack())
    assert f"Возврат №{back.receipt.id}</b> к чеку №{receipt.id}" in texts[-1]


async def test_forged_receipt_id_is_not_found(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    await desk.press(OWNER_ID, ReceiptPrintCb(id=424242).pack())
    assert answers(desk) == ["Чек не найден."] and desk.bot.calls(SendMessage) == []


async def test_outsiders_get_no_receipt(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory)
    texts = await desk.press(31337, ReceiptPrintCb(id=receipt.id).pack())
    assert not any("Чек №" in t for t in texts)
    assert not any("Чек №" in (a or "") for a in answers(desk))


async def test_send_to_the_client_needs_a_linked_chat(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    quick = await pay(session_factory)
    on_ticket = await pay(session_factory, ticket=True)
    for receipt in (quick, on_ticket):
        await desk.press(OWNER_ID, ReceiptPrintCb(id=receipt.id, to_client=1).pack())
        assert answers(desk) == ["Клиент не подключён к боту: чек можно показать с экрана."]

    async with session_factory() as session, session.begin():
        client = await session.scalar(select(Client))
        client.tg_chat_id, client.language = CLIENT_CHAT, "uk"
    texts = await desk.press(OWNER_ID, ReceiptPrintCb(id=on_ticket.id).pack())
    assert "Отправить клиенту" in desk.buttons(OWNER_ID)[-1]
    texts = await desk.tap(OWNER_ID, "Отправить клиенту")
    assert answers(desk) == ["Чек отправлен клиенту."]
    sent = desk.bot.last(SendMessage)
    assert sent.chat_id == CLIENT_CHAT and f"Чек №{on_ticket.id}" in texts[-1]
    # in the client's language (uk), not the staff member's
    assert desk.i18n.gettext("Обращение [{number}]", locale="uk").format(number=1) in sent.text

    desk.bot.session.blocked.add(CLIENT_CHAT)
    await desk.tap(OWNER_ID, "Отправить клиенту")
    assert answers(desk) == ["Клиент заблокировал бота: чек не доставлен."]


async def test_master_may_print_but_staff_of_no_role_may_not(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await staff(desk, session_factory)
    receipt = await pay(session_factory)
    async with session_factory() as session, session.begin():
        master = await session.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        master.active = False
    texts = await desk.press(MASTER_ID, ReceiptPrintCb(id=receipt.id).pack())
    assert not any("Чек №" in t for t in texts)


def test_callback_payloads_fit_telegram() -> None:
    biggest = 2**63 - 1  # DbId's top
    payloads: list[ShiftCb | FiscalRetryCb] = [ShiftCb(action=a, id=biggest) for a in ShiftAction]
    payloads += [FiscalRetryCb(kind=k, id=biggest) for k in FiscalKind]
    for data in payloads:
        packed = data.pack()
        assert len(packed.encode()) <= 64, packed
        assert type(data).unpack(packed) == data
