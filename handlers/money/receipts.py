"""The "💳 Оплата" tab: receipts of a ticket (and quick sales), lines by code, name search or a
free line with a price, removing lines, deleting an unpaid receipt."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import h, money
from db.desk.models import Staff
from db.desk.tickets import get_ticket
from db.errors import DomainError, NotFound, TicketClosed
from db.money.amounts import parse_amount
from db.money.models import ReceiptKind, ReceiptLine
from db.money.price_list import NAME_MAX, find_services, get_service_by_code
from db.money.receipts import (
    add_free_line,
    add_service_line,
    create_receipt,
    delete_receipt,
    get_receipt,
    remove_line,
    ticket_receipts,
)
from handlers.filters import IsStaff, NotCommand
from handlers.money.common import (
    PAGE,
    alert,
    flow_reply,
    leave_form,
    money_error,
    paid_error,
    remember_ui,
    split_quantity,
    stale,
)
from handlers.money.views import line_text, render_receipt, render_tab
from handlers.ui import edit_or_send
from keyboards.common import button, markup, pager
from keyboards.money import CashCb, ReceiptCb

SEARCH_SHOWN = 8


class ReceiptForm(StatesGroup):
    line = State()  # a code or a part of a service name (data: rid)
    free_name = State()
    free_price = State()  # data: rid, free_name


def line_prompt() -> str:
    return _("➕ Напишите код услуги или часть названия (количество — в конце: «стекло *2»). "
             "Не из прайс-листа — «✍️ Своя строка».")


def setup(settings: Settings) -> Router:
    router = Router(name="money.receipts")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    tz = settings.tz

    async def receipt_screen(session: AsyncSession, rid: int, staff: Staff, lang: str
                             ) -> tuple[str, InlineKeyboardMarkup]:
        """The receipt while lines are being typed: the prompt, and "Своя строка" in place of
        "Добавить строку"."""
        text, kb = await render_receipt(session, rid, staff, lang, tz)
        add = ReceiptCb(action="add", id=rid).pack()
        rows = [[b for b in row if b.callback_data != add] for row in kb.inline_keyboard]
        free = [button(_("✍️ Своя строка"), ReceiptCb(action="free", id=rid))]
        return text + "\n\n" + line_prompt(), markup([free, *rows])

    async def start_adding(target: CallbackQuery | Message, session: AsyncSession, rid: int,
                           state: FSMContext, staff: Staff, lang: str) -> None:
        """Lines are typed one after another until a button leaves the form."""
        await state.set_state(ReceiptForm.line)
        await state.update_data(rid=rid)
        text, kb = await receipt_screen(session, rid, staff, lang)
        if isinstance(target, CallbackQuery):
            await edit_or_send(target, text, kb)
            await remember_ui(target, state)
        else:
            await flow_reply(target, state, text, kb)

    # ---- tab and receipt -----------------------------------------------------------------
    @router.callback_query(ReceiptCb.filter(F.action == "tab"))
    async def tab(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                  state: FSMContext, lang: str) -> None:
        await leave_form(state)
        text, kb = await render_tab(session, callback_data.id, callback_data.arg, lang, tz)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(ReceiptCb.filter(F.action == "view"))
    async def view(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                   state: FSMContext, staff: Staff, lang: str) -> None:
        await leave_form(state)
        text, kb = await render_receipt(session, callback_data.id, staff, lang, tz)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(ReceiptCb.filter(F.action == "new"))
    async def new(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                  state: FSMContext, staff: Staff, lang: str) -> None:
        ticket = await get_ticket(session, callback_data.id)
        if ticket.status.kind.is_closed:
            await alert(query, money_error(TicketClosed("closed", number=ticket.number)))
            return
        # An empty unpaid receipt left from a previous try is reused, not multiplied.
        empty = next((r for r in await ticket_receipts(session, callback_data.id)
                      if r.kind == ReceiptKind.SALE and not r.is_paid and not r.lines), None)
        try:
            receipt = empty or await create_receipt(session, staff, callback_data.id)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await start_adding(query, session, receipt.id, state, staff, lang)
        await query.answer(_("Чек №{id} создан").format(id=receipt.id))

    @router.callback_query(CashCb.filter(F.action == "sale"))
    async def quick_sale(query: CallbackQuery, session: AsyncSession, state: FSMContext,
                         staff: Staff, lang: str) -> None:
        receipt = await create_receipt(session, staff, None)
        await start_adding(query, session, receipt.id, state, staff, lang)
        await query.answer()

    @router.callback_query(ReceiptCb.filter(F.action == "add"))
    async def add(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                  state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await get_receipt(session, callback_data.id)
        if receipt.is_paid:
            await alert(query, paid_error(receipt.id))
            return
        await start_adding(query, session, receipt.id, state, staff, lang)
        await query.answer()

    # ---- adding lines --------------------------------------------------------------------
    @router.message(ReceiptForm.line, F.text, NotCommand())
    async def typed_line(message: Message, session: AsyncSession, state: FSMContext,
                         staff: Staff, lang: str) -> None:
        rid = (await state.get_data()).get("rid")
        if not rid:
            await state.set_state(None)
            await message.answer(stale())
            return
        try:
            text, typed_qty = split_quantity(message.text or "")
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        quantity = typed_qty or 1000
        if not text:
            await message.answer(line_prompt())
            return
        exact = await get_service_by_code(session, text)
        try:
            if exact is not None and not exact.archived:
                await add_service_line(session, staff, rid, exact.id, quantity)
                await start_adding(message, session, rid, state, staff, lang)
                return
            found = await find_services(session, text, limit=SEARCH_SHOWN)
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        await state.update_data(free_name=text[:NAME_MAX], free_qty=quantity)
        rows = [[button(f"{s.code} · {s.name} · {money(s.price, lang)}",
                        ReceiptCb(action="svc", id=rid, arg=s.id, q=quantity))] for s in found]
        rows.append([button(_("✍️ «{name}» — своя строка").format(name=text[:30]),
                            ReceiptCb(action="free", id=rid, arg=1))])
        rows.append([button(_("← Чек"), ReceiptCb(action="view", id=rid))])
        head = (_("Найдено в прайс-листе: {count}. Выберите услугу или напишите иначе:").format(
                    count=len(found)) if found else
                _("«{text}» в прайс-листе нет. Напишите иначе (код или часть названия) или "
                  "добавьте своей строкой с ценой.").format(text=h(text)))
        await flow_reply(message, state, head, markup(rows))

    @router.callback_query(ReceiptCb.filter(F.action == "svc"))
    async def pick_service(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                           state: FSMContext, staff: Staff, lang: str) -> None:
        try:
            await add_service_line(session, staff, callback_data.id, callback_data.arg,
                                   callback_data.q or 1000)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await start_adding(query, session, callback_data.id, state, staff, lang)
        await query.answer(_("Добавлено"))

    @router.callback_query(ReceiptCb.filter(F.action == "free"))
    async def free_start(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                         state: FSMContext) -> None:
        receipt = await get_receipt(session, callback_data.id)
        if receipt.is_paid:
            await alert(query, paid_error(receipt.id))
            return
        data = await state.get_data()
        back = markup([[button(_("← Чек"), ReceiptCb(action="view", id=receipt.id))]])
        if callback_data.arg and data.get("rid") == receipt.id and data.get("free_name"):
            await state.set_state(ReceiptForm.free_price)
            await edit_or_send(query, _("Цена для «{name}», грн (например 350; количество — "
                                        "в конце: 350 *2):").format(name=h(data["free_name"])),
                               back)
        else:
            await state.set_state(ReceiptForm.free_name)
            await state.update_data(rid=receipt.id, free_qty=None)
            await edit_or_send(query, _("Название строки (например: Защитное стекло):"), back)
        await remember_ui(query, state)
        await query.answer()

    @router.message(ReceiptForm.free_name, F.text, NotCommand())
    async def typed_free_name(message: Message, state: FSMContext) -> None:
        name = " ".join((message.text or "").split())
        if not name or len(name) > NAME_MAX:
            await message.answer(_("Название — от 1 до {limit} символов.").format(limit=NAME_MAX))
            return
        await state.update_data(free_name=name)
        await state.set_state(ReceiptForm.free_price)
        rid = (await state.get_data())["rid"]
        await flow_reply(message, state, _(
            "Цена для «{name}», грн (например 350; количество — в конце: 350 *2):").format(
            name=h(name)), markup([[button(_("← Чек"), ReceiptCb(action="view", id=rid))]]))

    @router.message(ReceiptForm.free_price, F.text, NotCommand())
    async def typed_free_price(message: Message, session: AsyncSession, state: FSMContext,
                               staff: Staff, lang: str) -> None:
        data = await state.get_data()
        try:
            text, typed_qty = split_quantity(message.text or "")
            price = parse_amount(text)
            # "стекло *2" typed in the search keeps its quantity unless the price names one.
            quantity = typed_qty or data.get("free_qty") or 1000
            await add_free_line(session, staff, data["rid"], data["free_name"], price, quantity)
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        await state.update_data(free_name=None, free_qty=None)
        await start_adding(message, session, data["rid"], state, staff, lang)

    @router.message(ReceiptForm.line, NotCommand())
    @router.message(ReceiptForm.free_name, NotCommand())
    async def wrong_text(message: Message) -> None:
        await message.answer(_("Нужен текст: код или название услуги. Отмена — /cancel."))

    @router.message(ReceiptForm.free_price, NotCommand())
    async def wrong_price(message: Message) -> None:
        await message.answer(_("Напишите цену числом, например 1 200,50. Отмена — /cancel."))

    # ---- removing ------------------------------------------------------------------------
    @router.callback_query(ReceiptCb.filter(F.action == "rml"))
    async def pick_line(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                        lang: str) -> None:
        receipt = await get_receipt(session, callback_data.id)
        lines: list[ReceiptLine] = receipt.lines
        pages = max(1, math.ceil(len(lines) / PAGE))
        page = min(max(callback_data.arg, 0), pages - 1)
        rows = [[button("✖ " + line_text(page * PAGE + i, line, lang, html=False),
                        ReceiptCb(action="dl", id=receipt.id, arg=line.id))]
                for i, line in enumerate(lines[page * PAGE:(page + 1) * PAGE], 1)]
        rows.append(pager(page, pages, lambda p: ReceiptCb(action="rml", id=receipt.id, arg=p)))
        rows.append([button(_("← Чек"), ReceiptCb(action="view", id=receipt.id))])
        await edit_or_send(query, _("Какую строку убрать из чека №{id}?").format(id=receipt.id),
                           markup(rows))
        await query.answer()

    @router.callback_query(ReceiptCb.filter(F.action == "dl"))
    async def drop_line(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                        staff: Staff, lang: str) -> None:
        line = await session.get(ReceiptLine, callback_data.arg)
        try:
            if line is None or line.receipt_id != callback_data.id:
                raise NotFound("receipt_line", line_id=callback_data.arg)
            await remove_line(session, staff, line.id)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        text, kb = await render_receipt(session, callback_data.id, staff, lang, tz)
        await edit_or_send(query, text, kb)
        await query.answer(_("Строка убрана"))

    @router.callback_query(ReceiptCb.filter(F.action == "del"))
    async def ask_delete(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                         lang: str) -> None:
        receipt = await get_receipt(session, callback_data.id)
        if receipt.is_paid:
            await alert(query, paid_error(receipt.id))
            return
        await edit_or_send(query, _("Удалить неоплаченный чек №{id} на {amount}?").format(
            id=receipt.id, amount=money(receipt.total, lang)), markup([[
                button(_("🗑 Да, удалить"), ReceiptCb(action="delok", id=receipt.id)),
                button(_("Нет"), ReceiptCb(action="view", id=receipt.id))]]))
        await query.answer()

    @router.callback_query(ReceiptCb.filter(F.action == "delok"))
    async def do_delete(query: CallbackQuery, callback_data: ReceiptCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str) -> None:
        try:
            receipt = await get_receipt(session, callback_data.id)
            ticket_id = receipt.ticket_id
            await delete_receipt(session, staff, receipt.id)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        if await state.get_state() in ReceiptForm.__all_states_names__:
            await state.set_state(None)
        if ticket_id is None:
            await edit_or_send(query, _("Чек №{id} удалён.").format(id=callback_data.id),
                               markup([[button(_("← Касса"), CashCb(action="view"))]]))
        else:
            text, kb = await render_tab(session, ticket_id, 0, lang, tz)
            await edit_or_send(query, text, kb)
        await query.answer(_("Чек №{id} удалён").format(id=callback_data.id))

    return router
