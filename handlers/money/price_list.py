"""`/services`: the price list. Everyone views and searches (`/services экран`); owners and
managers add, edit code/name/price and archive (the domain refuses the rest anyway)."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import clip, h, money
from db.desk.models import Staff
from db.errors import DomainError
from db.money.amounts import parse_amount
from db.money.errors import InvalidAmount
from db.money.models import Service
from db.money.price_list import (
    CODE_MAX,
    NAME_MAX,
    add_service,
    archive_service,
    edit_service,
    find_services,
    get_service,
    list_services,
    normalize_code,
)
from handlers.filters import IsStaff, NotCommand
from handlers.money.common import (
    PAGE,
    alert,
    flow_reply,
    is_manager,
    leave_form,
    money_error,
    remember_ui,
    short,
)
from handlers.ui import edit_or_send
from keyboards.common import button, markup, pager
from keyboards.money import PriceCb

FIELDS = {1: "code", 2: "name", 3: "price"}


class PriceForm(StatesGroup):
    code = State()
    name = State()  # data: pl_code
    price = State()  # data: pl_code, pl_name
    edit = State()  # data: pl_id, pl_field


def parse_price(text: str) -> int:
    """A price may be 0 (free diagnostics); everything else as any amount."""
    try:
        return parse_amount(text)
    except InvalidAmount as exc:
        if exc.reason == "zero":
            return 0
        raise


async def archived_services(session: AsyncSession, offset: int) -> tuple[list[Service], int]:
    where = Service.archived.is_(True)
    total = await session.scalar(select(func.count()).select_from(Service).where(where)) or 0
    rows = await session.scalars(select(Service).where(where).order_by(Service.code)
                                 .offset(offset).limit(PAGE))
    return list(rows), total


def service_line(service: Service, lang: str) -> str:
    mark = " 🗄" if service.archived else ""
    price = money(service.price, lang)
    return f"<code>{h(service.code)}</code> · {h(short(service.name))} — {price}{mark}"


def back_to_list() -> InlineKeyboardMarkup:
    return markup([[button(_("← Прайс-лист"), PriceCb(action="page"))]])


def setup(settings: Settings) -> Router:
    router = Router(name="money.price_list")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())

    def service_buttons(services: list[Service], staff: Staff, lang: str
                        ) -> list[list[InlineKeyboardButton]]:
        if not is_manager(staff):
            return []
        return [[button(f"{s.code} · {s.name} · {money(s.price, lang)}",
                        PriceCb(action="card", id=s.id))] for s in services]

    async def render_page(session: AsyncSession, page: int, archive: bool, staff: Staff,
                          lang: str) -> tuple[str, InlineKeyboardMarkup]:
        async def fetch(page: int) -> tuple[list[Service], int]:
            if archive:
                return await archived_services(session, page * PAGE)
            return await list_services(session, offset=page * PAGE, limit=PAGE)

        page = max(page, 0)
        services, total = await fetch(page)
        pages = max(1, math.ceil(total / PAGE))
        if page >= pages:  # a stale page after archiving, or a forged one
            page = pages - 1
            services, total = await fetch(page)
        title = _("🗄 <b>Архив прайс-листа</b>") if archive else _("📋 <b>Прайс-лист</b>")
        lines = [_("{title} · услуг: {total} · стр. {page}/{pages}").format(
            title=title, total=total, page=page + 1, pages=pages)]
        lines.extend(service_line(s, lang) for s in services)
        if not total:
            lines.append(_("Пока пусто."))
        lines.append(_("Поиск: /services экран"))
        rows = service_buttons(services, staff, lang)
        flag = 1 if archive else 0
        rows.append(pager(page, pages, lambda p: PriceCb(action="page", id=flag, arg=p)))
        if is_manager(staff):
            rows.append([button(_("➕ Добавить услугу"), PriceCb(action="add")),
                         button(_("📋 Прайс-лист") if archive else _("🗄 Архив"),
                                PriceCb(action="page", id=0 if archive else 1))])
        return "\n".join(lines), markup(rows)

    async def render_card(session: AsyncSession, service_id: int, lang: str
                          ) -> tuple[str, InlineKeyboardMarkup]:
        s = await get_service(session, service_id)
        lines = [service_line(s, lang)]
        if s.archived:
            lines.append(_("🗄 В архиве: не предлагается в чеках."))
        rows = [[button(_("✏️ Код"), PriceCb(action="edit", id=s.id, arg=1)),
                 button(_("✏️ Название"), PriceCb(action="edit", id=s.id, arg=2)),
                 button(_("✏️ Цена"), PriceCb(action="edit", id=s.id, arg=3))],
                [button(_("↩️ Вернуть из архива") if s.archived else _("🗄 В архив"),
                        PriceCb(action="unarch" if s.archived else "arch", id=s.id))],
                [button(_("← Прайс-лист"), PriceCb(action="page", id=1 if s.archived else 0))]]
        return "\n".join(lines), markup(rows)

    async def manager_only(query: CallbackQuery, staff: Staff) -> bool:
        if is_manager(staff):
            return True
        await alert(query, _("Прайс-лист меняет владелец или менеджер."))
        return False

    @router.message(Command("services"))
    async def services_command(message: Message, command: CommandObject, session: AsyncSession,
                               state: FSMContext, staff: Staff, lang: str) -> None:
        await state.set_state(None)
        query = (command.args or "").strip()
        if not query:
            text, kb = await render_page(session, 0, False, staff, lang)
            await message.answer(clip(text), reply_markup=kb)
            return
        found = await find_services(session, query, limit=PAGE * 2)
        lines = [_("🔍 «{query}»: найдено {count}").format(query=h(query), count=len(found))]
        lines.extend(service_line(s, lang) for s in found)
        rows = service_buttons(found, staff, lang)
        rows.append([button(_("📋 Весь прайс-лист"), PriceCb(action="page"))])
        await message.answer(clip("\n".join(lines)), reply_markup=markup(rows))

    @router.callback_query(PriceCb.filter(F.action == "page"))
    async def page(query: CallbackQuery, callback_data: PriceCb, session: AsyncSession,
                   state: FSMContext, staff: Staff, lang: str) -> None:
        await leave_form(state)
        text, kb = await render_page(session, callback_data.arg, bool(callback_data.id), staff,
                                     lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(PriceCb.filter(F.action == "card"))
    async def card(query: CallbackQuery, callback_data: PriceCb, session: AsyncSession,
                   state: FSMContext, staff: Staff, lang: str) -> None:
        await leave_form(state)
        if not await manager_only(query, staff):
            return
        text, kb = await render_card(session, callback_data.id, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(PriceCb.filter(F.action.in_({"arch", "unarch"})))
    async def archive(query: CallbackQuery, callback_data: PriceCb, session: AsyncSession,
                      staff: Staff, lang: str) -> None:
        if not await manager_only(query, staff):
            return
        try:
            await archive_service(session, staff, callback_data.id,
                                  archived=callback_data.action == "arch")
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        text, kb = await render_card(session, callback_data.id, lang)
        await edit_or_send(query, text, kb)
        await query.answer(_("Сохранено"))

    # ---- adding --------------------------------------------------------------------------
    @router.callback_query(PriceCb.filter(F.action == "add"))
    async def add(query: CallbackQuery, state: FSMContext, staff: Staff) -> None:
        if not await manager_only(query, staff):
            return
        await state.set_state(PriceForm.code)
        await edit_or_send(query, _("Новая услуга. Код (короткий, без пробелов, например SCR1):"),
                           back_to_list())
        await remember_ui(query, state)
        await query.answer()

    @router.message(PriceForm.code, F.text, NotCommand())
    async def typed_code(message: Message, state: FSMContext) -> None:
        code = normalize_code(message.text or "")
        if not code or len(code) > CODE_MAX:
            await message.answer(_("Код — от 1 до {limit} символов без пробелов, например SCR1."
                                   ).format(limit=CODE_MAX))
            return
        await state.update_data(pl_code=code)
        await state.set_state(PriceForm.name)
        await flow_reply(message, state, _("{code}: название услуги?").format(code=h(code)),
                         back_to_list())

    @router.message(PriceForm.name, F.text, NotCommand())
    async def typed_name(message: Message, state: FSMContext) -> None:
        name = " ".join((message.text or "").split())
        if not name or len(name) > NAME_MAX:
            await message.answer(_("Название — от 1 до {limit} символов.").format(limit=NAME_MAX))
            return
        await state.update_data(pl_name=name)
        await state.set_state(PriceForm.price)
        await flow_reply(message, state, _("Цена «{name}», грн (например 1 500; 0 — бесплатно):"
                                           ).format(name=h(name)), back_to_list())

    @router.message(PriceForm.price, F.text, NotCommand())
    async def typed_price(message: Message, session: AsyncSession, state: FSMContext,
                          staff: Staff, lang: str) -> None:
        data = await state.get_data()
        try:
            service = await add_service(session, staff, data.get("pl_code", ""),
                                        data.get("pl_name", ""), parse_price(message.text or ""))
        except DomainError as exc:
            await message.answer(money_error(exc))
            if exc.code == "duplicate_service":
                await state.set_state(PriceForm.code)
            return
        await state.clear()
        text, kb = await render_card(session, service.id, lang)
        await message.answer(_("✅ Услуга добавлена.") + "\n" + text, reply_markup=kb)

    # ---- editing -------------------------------------------------------------------------
    @router.callback_query(PriceCb.filter(F.action == "edit"))
    async def edit(query: CallbackQuery, callback_data: PriceCb, session: AsyncSession,
                   state: FSMContext, staff: Staff) -> None:
        if not await manager_only(query, staff):
            return
        field = FIELDS.get(callback_data.arg)
        service = await get_service(session, callback_data.id)
        if field is None:
            await alert(query, _("Кнопка устарела."))
            return
        await state.set_state(PriceForm.edit)
        await state.update_data(pl_id=service.id, pl_field=field)
        prompt = {"code": _("Новый код для «{name}»:"), "name": _("Новое название для «{name}»:"),
                  "price": _("Новая цена для «{name}», грн:")}[field].format(name=h(service.name))
        await edit_or_send(query, prompt, markup([[button(_("← Отмена"),
                                                          PriceCb(action="card", id=service.id))]]))
        await remember_ui(query, state)
        await query.answer()

    @router.message(PriceForm.edit, F.text, NotCommand())
    async def typed_edit(message: Message, session: AsyncSession, state: FSMContext,
                         staff: Staff, lang: str) -> None:
        data = await state.get_data()
        field, text = data.get("pl_field"), message.text or ""
        try:
            value: object = parse_price(text) if field == "price" else text
            await edit_service(session, staff, data.get("pl_id", 0), **{field or "name": value})
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        await state.clear()
        card_text, kb = await render_card(session, data["pl_id"], lang)
        await message.answer(_("✅ Сохранено.") + "\n" + card_text, reply_markup=kb)

    @router.message(PriceForm.code, NotCommand())
    @router.message(PriceForm.name, NotCommand())
    @router.message(PriceForm.edit, NotCommand())
    async def wrong_text(message: Message) -> None:
        await message.answer(_("Нужен текст. Отмена — /cancel."))

    @router.message(PriceForm.price, NotCommand())
    async def wrong_price(message: Message) -> None:
        await message.answer(_("Напишите цену числом, например 1 500 или 0. Отмена — /cancel."))

    return router
