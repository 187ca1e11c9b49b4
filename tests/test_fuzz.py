"""Fuzzing through the real Dispatcher: ≥ 10,000 random updates per run (hypothesis,
derandomized, so CI sees the same ones every time) from the owner, a manager, a master, a linked
client and a stranger — typed texts (unicode, 5,000 characters, HTML, injections, odd numbers),
photos, documents, contacts, real buttons (current, stale, another chat's) and forged callback
data built from the app's CallbackData classes — after real flows have opened the forms (intake,
receipt, payment, percent, settings, new client, comment, sections), so every FSM state meets it.

Nothing may crash (the error handler's "failed, incident" log), nothing Telegram rejects may be
sent, every callback query is answered exactly once, and the money and numbering invariants hold
after every batch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import Update
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm_storage import DatabaseStorage
from db.desk.clients import search_clients
from db.desk.models import Client, Role, Staff, Ticket
from db.engine import create_engine, create_session_factory
from db.money.drawer import drawer_balance
from db.money.models import (
    CashMove,
    Expense,
    Payment,
    PaymentKind,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
)
from db.money.payment_types import default_payment_type
from db.money.payments import pay_receipt
from db.money.price_list import add_service
from db.money.receipts import add_free_line, create_receipt
from keyboards.menu import menu_texts
from tests.factories import make_client, make_staff
from tests.fuzz_kit import (
    USERS,
    IncidentLog,
    Probe,
    callback_data_strategy,
    random_update,
    text_strategy,
)
from tests.handler_kit import Desk
from tests.test_money_support import ticket_at

OWNER, MASTER, MANAGER = USERS["owner"], USERS["master"], USERS["manager"]
CLIENT, STRANGER = USERS["client"], USERS["stranger"]
CLIENT_PHONE = "+380501112233"
BATCH = 28
# ≥ 10,000 updates a run (FUZZ_UPDATES to try more or fewer locally); a flow is ~4 updates.
UPDATES = int(os.environ.get("FUZZ_UPDATES", "10000"))
EXAMPLES = UPDATES // BATCH + 1


@dataclass
class Shop:
    ticket_number: int


async def seed(sf: async_sessionmaker[AsyncSession]) -> Shop:
    """Owner, master (30 %), manager, a service, a ready ticket with a paid cash receipt, a
    linked client with a ticket of their own and a stranger's nothing."""
    async with sf() as s, s.begin():
        owner = await make_staff(s, Role.OWNER, name="Олег", tg_user_id=OWNER)
        master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER,
                                  commission_bp=3000)
        await make_staff(s, Role.MANAGER, name="Марина", tg_user_id=MANAGER)
        await add_service(s, owner, "SCR1", "Замена экрана", 150000)
        ticket = await ticket_at(s, owner, "ready", master_id=master.id)
        receipt = await create_receipt(s, owner, ticket.id)
        await add_free_line(s, owner, receipt.id, "Диагностика", 20000)
        cash = await default_payment_type(s, PaymentKind.CASH)
        await pay_receipt(s, owner, receipt.id, [(cash.id, 20000, 50000)])
        client = await make_client(s, CLIENT_PHONE, name="Олена", surname="Коваль")
        client.tg_chat_id = CLIENT
        await ticket_at(s, owner, "in_work", master_id=master.id)
        return Shop(ticket.number)


# ---- real flows into the forms --------------------------------------------------------------

Driver = Callable[[Probe, Shop], Awaitable[int]]


async def _steps(probe: Probe, user: int, *steps: str) -> int:
    """Texts and taps ("tap:<label>") until a step's button is gone (the fuzz may have changed
    the shop meanwhile: the flow is then simply shorter)."""
    for step in steps:
        if step.startswith("tap:"):
            try:
                await probe.tap(user, step[4:])
            except AssertionError:
                break
        elif step.startswith("tap#"):  # the n-th button of the latest keyboard
            buttons = probe.buttons_of(user, last=1)
            if len(buttons) <= int(step[4:]):
                break
            await probe.press(user, *buttons[int(step[4:])])
        else:
            await probe.text(user, step)
    return user


def flow(user: int, *steps: str) -> Driver:
    async def drive(probe: Probe, shop: Shop) -> int:
        return await _steps(probe, user, *[s.format(n=shop.ticket_number) for s in steps])

    return drive


INTAKE = ("/cancel", CLIENT_PHONE, "tap:Новое устройство")
RECEIPT = ("/cancel", "/ticket {n}", "tap:Оплата", "tap:Новый чек")
DRIVERS: dict[str, Driver] = {
    "intake.kind": flow(OWNER, *INTAKE),
    "intake.model": flow(MASTER, *INTAKE, "tap:Телефон"),
    "intake.defect": flow(OWNER, *INTAKE, "tap:Телефон", "Apple iPhone 12"),
    "intake.review": flow(MASTER, *INTAKE, "tap:Телефон", "Apple iPhone 12", "Не заряжается"),
    "intake.edit": flow(OWNER, *INTAKE, "tap:Телефон", "Apple iPhone 12", "Не заряжается",
                        "tap:Серийный"),
    "intake.estimate": flow(OWNER, *INTAKE, "tap:Телефон", "Samsung A5", "Разбит экран",
                            "tap:Оценка"),
    "receipt.line": flow(MASTER, *RECEIPT),
    "receipt.free": flow(OWNER, *RECEIPT, "tap:Своя строка"),
    "receipt.free_price": flow(MASTER, *RECEIPT, "нечто", "tap:своя строка"),
    "pay.received": flow(MASTER, *RECEIPT, "scr1", "tap:Оплатить", "tap:Наличные"),
    "pay.split": flow(OWNER, *RECEIPT, "scr1", "tap:Оплатить", "tap:частями"),
    "staff.percent": flow(OWNER, "/cancel", "/staff", "tap:Петя", "tap:Процент"),
    "settings.type": flow(OWNER, "/cancel", "/settings", "tap:Типы устройств",
                          "tap:Добавить тип"),
    "client.new": flow(MANAGER, "/cancel", "+380679998877", "tap:Создать"),
    "client.edit": flow(OWNER, "/cancel", CLIENT_PHONE, "tap:Доп. телефон"),
    "comment": flow(MASTER, "/cancel", "/ticket {n}", "tap:Комментарий"),
    "clients.section": flow(MANAGER, "/cancel", "👥 Клиенты"),
    "service.section": flow(MASTER, "/cancel", "🛠 Сервис"),
    "cash": flow(OWNER, "/cancel", "/cash", "tap:Внесение"),
    "cash.reason": flow(MANAGER, "/cancel", "/cash", "tap:Изъятие", "1"),
    "expense": flow(MASTER, "/cancel", "/cash", "tap:Расход"),
    "price.add": flow(OWNER, "/cancel", "/services", "tap:Добавить услугу"),
    "price.name": flow(MANAGER, "/cancel", "/services", "tap:Добавить услугу", "X{n}"),
    "price.price": flow(OWNER, "/cancel", "/services", "tap:Добавить услугу", "Y{n}",
                        "Чистка"),
    "price.edit": flow(OWNER, "/cancel", "/services", "tap:SCR1", "tap#0"),
    "pay_types": flow(OWNER, "/cancel", "/settings", "tap:Способы оплаты",
                      "tap:Добавить способ"),
    "report.period": flow(OWNER, "/cancel", "/report", "tap:Другой период"),
    "report.digest": flow(OWNER, "/cancel", "/settings", "tap:Отчёты и сводка",
                          "tap:Своё время"),
    "templates.name": flow(OWNER, "/cancel", "/templates", "tap:Новый шаблон", "tap#0",
                           "tap#0"),
    "templates.text": flow(OWNER, "/cancel", "/templates", "tap:Новый шаблон", "tap#1",
                           "tap#1", "Шаблон {n}"),
    "client.chat": flow(CLIENT, "/start", "/status"),
    "stranger": flow(STRANGER, "/start"),
}


# ---- invariants ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PaidReceipt:
    total: int
    lines: tuple[tuple[int, str, int, int, int], ...]


async def paid_receipts(s: AsyncSession) -> dict[int, PaidReceipt]:
    lines: dict[int, list[tuple[int, str, int, int, int]]] = {}
    for line in await s.scalars(select(ReceiptLine).order_by(ReceiptLine.id)):
        lines.setdefault(line.receipt_id, []).append(
            (line.id, line.name, line.price, line.quantity, line.amount))
    receipts = await s.scalars(select(Receipt).where(Receipt.status == ReceiptStatus.PAID))
    return {r.id: PaidReceipt(r.total, tuple(lines.get(r.id, []))) for r in receipts}


async def check_invariants(sf: async_sessionmaker[AsyncSession],
                           paid_before: dict[int, PaidReceipt]) -> dict[int, PaidReceipt]:
    async with sf() as s:
        # The drawer = the sum of its movements, counted here row by row.
        cash_in = 0
        for amount, kind in (await s.execute(
                select(Payment.amount, Receipt.kind).join(Receipt, Receipt.id == Payment.receipt_id)
                .where(Payment.kind == PaymentKind.CASH))).all():
            cash_in += amount if kind == ReceiptKind.SALE else -amount
        cash_in -= sum(await s.scalars(select(Expense.amount).where(
            Expense.kind == PaymentKind.CASH)))
        cash_in += sum(await s.scalars(select(CashMove.amount)))
        balance = await drawer_balance(s)
        assert balance == cash_in and balance >= 0, (balance, cash_in)
        # Paid receipts never change (nor become unpaid).
        paid_now = await paid_receipts(s)
        for receipt_id, was in paid_before.items():
            assert paid_now.get(receipt_id) == was, receipt_id
        # Refunds never exceed what was paid: per line and per receipt; payments = totals.
        line_qty = dict((await s.execute(select(ReceiptLine.id, ReceiptLine.quantity))).all())
        refunded: dict[int, int] = {}
        for of_line, qty in (await s.execute(select(
                ReceiptLine.refund_of_line_id, ReceiptLine.quantity).join(
                Receipt, Receipt.id == ReceiptLine.receipt_id).where(
                ReceiptLine.refund_of_line_id.is_not(None),
                Receipt.status == ReceiptStatus.PAID))).all():
            assert of_line is not None
            refunded[of_line] = refunded.get(of_line, 0) + abs(qty)
        for line_id, qty in refunded.items():
            assert qty <= abs(line_qty[line_id]), line_id
        totals = dict((await s.execute(select(Receipt.id, Receipt.total).where(
            Receipt.kind == ReceiptKind.SALE, Receipt.status == ReceiptStatus.PAID))).all())
        for sale_id, total in totals.items():
            back = await s.scalar(select(func.coalesce(func.sum(Receipt.total), 0)).where(
                Receipt.related_receipt_id == sale_id, Receipt.status == ReceiptStatus.PAID))
            assert int(back or 0) <= total, sale_id
            taken = await s.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.receipt_id == sale_id))
            assert int(taken or 0) == total, sale_id
        # Ticket numbers: 1..N without gaps or repeats.
        numbers = list(await s.scalars(select(Ticket.number).order_by(Ticket.number)))
        assert numbers == list(range(1, len(numbers) + 1)), numbers
        # The linked client stays linked to its own chat; owners stay.
        assert await s.scalar(select(Client.tg_chat_id).where(Client.phone == CLIENT_PHONE)) \
            == CLIENT
        owners = await s.scalar(select(func.count()).select_from(Staff).where(
            Staff.role == Role.OWNER, Staff.active))
        assert owners is not None and owners >= 1
        return paid_now


# ---- the test -------------------------------------------------------------------------------

def watch_states(desk: Desk, probe: Probe) -> None:
    """Record every FSM state an update met (aiogram reads it for each update)."""
    storage = desk.dp.fsm.storage
    original = storage.get_state

    async def get_state(key: StorageKey) -> str | None:
        state = await original(key)
        probe.states.add(state)
        return state

    storage.get_state = get_state  # type: ignore[method-assign]


@dataclass
class Run:
    probe: Probe
    shop: Shop
    sf: async_sessionmaker[AsyncSession]
    texts: st.SearchStrategy[str]
    callbacks: st.SearchStrategy[str]
    paid: dict[int, PaidReceipt]
    broken: list[str]


async def start(url: str, incidents: IncidentLog) -> Run:
    engine = create_engine(url)
    sf = create_session_factory(engine)
    shop = await seed(sf)
    desk = Desk(sf)
    probe = Probe(desk, incidents)
    watch_states(desk, probe)
    with desk.i18n.context(), desk.i18n.use_locale("ru"):
        menu = sorted(menu_texts())
    async with sf() as s:
        paid = await paid_receipts(s)
    return Run(probe, shop, sf, text_strategy(menu), callback_data_strategy(), paid, [])


async def example(run: Run, data: st.DataObject) -> None:
    probe = run.probe
    name = data.draw(st.sampled_from(sorted(DRIVERS)), label="flow")
    user = await DRIVERS[name](probe, run.shop)
    for _ in range(BATCH):
        sender = data.draw(st.sampled_from([user] * 3 + sorted(USERS.values())))
        item = random_update(data.draw, probe, sender, run.texts, run.callbacks)
        if isinstance(item, Update):
            await probe.feed(item)
        else:
            await probe.press(sender, *item)
    try:
        run.paid = await check_invariants(run.sf, run.paid)
    except AssertionError as exc:
        run.broken.append(f"after flow {name}: invariant {exc!r}")


def test_fuzz(db_url: str) -> None:
    """Every example: a real flow opens a form, then BATCH random updates from its user and
    the others; the findings are asserted once at the end (the shop's state carries over
    from example to example, so a failing example could not be replayed alone)."""
    with asyncio.Runner() as runner, IncidentLog() as incidents:
        run = runner.run(start(db_url, incidents))

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def fuzz(data: st.DataObject) -> None:
            runner.run(example(run, data))

        fuzz()
        probe = run.probe
        print(f"\nfuzz: {probe.fed} updates, {len(probe.states)} FSM states met: "
              f"{sorted(str(s) for s in probe.states)}")
        # One line per distinct problem, with how often and one update that caused it.
        seen: dict[tuple[str, str], list[str]] = {}
        for f in probe.findings:
            seen.setdefault((f.kind, f.detail), []).append(f.update)
        findings = [f"{kind} ×{len(updates)} (e.g. {updates[0]}): {detail}"
                    for (kind, detail), updates in seen.items()]
        broken = sorted(set(run.broken))
        assert not findings + broken, "\n".join(findings + broken)
        assert probe.fed >= UPDATES


async def test_ids_beyond_the_database_answer_not_found(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Forged ids beyond BIGINT (≥ 2**63, < -2**63) match no button: staff and the linked
    client hear "not found", a stranger "no access"; nothing fails on the way (SQLite
    OverflowError, asyncpg DataError). A small negative id is just a stale button."""
    await seed(session_factory)
    desk = Desk(session_factory)
    not_found = "Не найдено: возможно, запись удалена или ссылка устарела."
    with IncidentLog() as incidents:
        probe = Probe(desk, incidents)
        cases = [(MASTER, "t:card:9223372036854775808:0", not_found),
                 (OWNER, "s:card:-9223372036854775809:", not_found),
                 (OWNER, "s:card:-1:", "Кнопка устарела — откройте карточку заново."),
                 (CLIENT, "mt:view:9223372036854775808", not_found),
                 (STRANGER, "mt:view:9223372036854775808", "Нет доступа."),
                 (MASTER, "t:card:9223372036854775807:0", not_found)]
        for user, data, msgid in cases:
            requests = await probe.press(user, data)
            alerts = [m.text for m in requests if isinstance(m, AnswerCallbackQuery)]
            said = {desk.i18n.gettext(msgid, locale=lang) for lang in ("ru", "uk")}
            assert len(alerts) == 1 and alerts[0] in said, (data, alerts)
        # A forged label QR or a huge typed number: no such ticket.
        for text in ("/start tk_99999999999999999999", "/start tk_0"):
            await probe.text(MASTER, text)
            assert "не найден" in " ".join(desk.bot.texts()), text
        assert not probe.findings, probe.findings


async def test_nul_characters_are_dropped_before_writing(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """PostgreSQL refuses NUL in text and JSON (found by the fuzz: a template text "\\x00");
    the session drops it on every backend, in new and changed rows and inside JSON."""
    async with session_factory() as s, s.begin():
        client = await make_client(s, "+380501119999", name="Ан\x00на", surname="\x00")
        client_id = client.id
    async with session_factory() as s, s.begin():
        client = await s.get(Client, client_id)
        assert client is not None and (client.name, client.surname) == ("Анна", "")
        client.name = "О\x00ля"
    storage = DatabaseStorage(session_factory)
    key = StorageKey(bot_id=42, chat_id=7, user_id=7)
    await storage.set_data(key, {"text": "a\x00b", "list": ["\x00"]})
    assert await storage.get_data(key) == {"text": "ab", "list": [""]}
    async with session_factory() as s:
        assert await s.scalar(select(Client.name).where(Client.id == client_id)) == "Оля"


async def test_nul_characters_in_a_search_are_not_an_error(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Found by the fuzz on PostgreSQL: a typed "\\x00\\x054" went into the search's LIKE
    parameter and the server refused it; every bound text parameter is cleaned."""
    async with session_factory() as s, s.begin():
        await make_client(s, "+380501114444", name="Анна")
    async with session_factory() as s:
        hits = await search_clients(s, "Ан\x00на")
        assert [h.client.name for h in hits] == ["Анна"]
        assert await search_clients(s, "\x00\x054") == []
