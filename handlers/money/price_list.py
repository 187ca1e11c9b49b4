"""`/services`: the price list. Everyone views and searches (`/services экран`); owners and
managers open a service's card to archive it or change it (price_edit.py); the domain refuses
the rest anyway."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import clip, echo, h, money
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.models import Service
from db.money.price_list import (
    archive_service,
    archived_services,
    find_services,
    get_service,
    list_services,
)
from handlers.filters import IsStaff
from handlers.money.common import PAGE, alert, leave_form, money_error, short
from handlers.ui import edit_and_answer
from keyboards.common import button, markup, pager
from keyboards.money import PriceAction, PriceCb, PriceField

SEARCH_SHOWN = PAGE * 2


def service_line(service: Service, lang: str) -> str:
    mark = " 🗄" if service.archived else ""
    price = money(service.price, lang)
    return f"<code>{h(service.code)}</code> · {h(short(service.name))} — {price}{mark}"


def service_buttons(services: list[Service], staff: Staff, lang: str
                    ) -> list[list[InlineKeyboardButton]]:
    if not staff.is_manager_or_owner:
        return []
    return [[button(f"{s.code} · {s.name} · {money(s.price, lang)}",
                    PriceCb(action=PriceAction.CARD, id=s.id))] for s in services]


async def services_page(session: DbSession, page: int, archive: bool
                        ) -> tuple[list[Service], int]:
    if archive:
        return await archived_services(session, offset=page * PAGE, limit=PAGE)
    return await list_services(session, offset=page * PAGE, limit=PAGE)


async def fetch_page(session: DbSession, page: int, archive: bool
                     ) -> tuple[list[Service], int, int]:
    """A page of the list or the archive, the page clamped (a stale page after archiving, or
    a forged one, shows the last), and the count."""
    page = max(page, 0)
    services, total = await services_page(session, page, archive)
    pages = max(1, math.ceil(total / PAGE))
    if page >= pages:
        page = pages - 1
        services, total = await services_page(session, page, archive)
    return services, page, total


async def render_page(session: DbSession, page: int, archive: bool, staff: Staff, lang: str
                      ) -> tuple[str, InlineKeyboardMarkup]:
    services, page, total = await fetch_page(session, page, archive)
    pages = max(1, math.ceil(total / PAGE))
    title = _("🗄 <b>Архив прайс-листа</b>") if archive else _("📋 <b>Прайс-лист</b>")
    lines = [_("{title} · услуг: {total} · стр. {page}/{pages}").format(
        title=title, total=total, page=page + 1, pages=pages),
        *(service_line(s, lang) for s in services)]
    if not total:
        lines.append(_("Пока пусто."))
    lines.append(_("Поиск: /services экран"))
    rows = service_buttons(services, staff, lang)
    action = PriceAction.ARCHIVED if archive else PriceAction.PAGE
    rows.append(pager(page, pages, lambda p: PriceCb(action=action, arg=p)))
    if staff.is_manager_or_owner:
        rows.append([button(_("➕ Добавить услугу"), PriceCb(action=PriceAction.ADD)),
                     button(_("📋 Прайс-лист") if archive else _("🗄 Архив"),
                            PriceCb(action=PriceAction.PAGE if archive
                                    else PriceAction.ARCHIVED))])
    return "\n".join(lines), markup(rows)


def edit_button(label: str, service_id: int, field: PriceField) -> InlineKeyboardButton:
    return button(label, PriceCb(action=PriceAction.EDIT, id=service_id, arg=field))


async def render_card(session: DbSession, service_id: int, lang: str
                      ) -> tuple[str, InlineKeyboardMarkup]:
    s = await get_service(session, service_id)
    lines = [service_line(s, lang)]
    if s.archived:
        lines.append(_("🗄 В архиве: не предлагается в чеках."))
    rows = [[edit_button(_("✏️ Код"), s.id, PriceField.CODE),
             edit_button(_("✏️ Название"), s.id, PriceField.NAME),
             edit_button(_("✏️ Цена"), s.id, PriceField.PRICE)],
            [button(_("↩️ Вернуть из архива") if s.archived else _("🗄 В архив"),
                    PriceCb(action=PriceAction.UNARCHIVE if s.archived else PriceAction.ARCHIVE,
                            id=s.id))],
            [button(_("← Прайс-лист"),
                    PriceCb(action=PriceAction.ARCHIVED if s.archived else PriceAction.PAGE))]]
    return "\n".join(lines), markup(rows)


async def manager_only(query: CallbackQuery, staff: Staff) -> bool:
    """Masters are not offered changes (the domain refuses them anyway)."""
    if staff.is_manager_or_owner:
        return True
    await alert(query, _("Прайс-лист меняет владелец или менеджер."))
    return False


async def services_command(message: Message, command: CommandObject, session: DbSession,
                           state: FSMContext, staff: Staff, lang: str) -> None:
    await state.set_state(None)
    query = (command.args or "").strip()
    if not query:
        text, kb = await render_page(session, 0, False, staff, lang)
        await message.answer(clip(text), reply_markup=kb)
        return
    found = await find_services(session, query, limit=SEARCH_SHOWN)
    lines = [_("🔍 «{query}»: найдено {count}").format(query=echo(query), count=len(found)),
             *(service_line(s, lang) for s in found)]
    rows = service_buttons(found, staff, lang)
    rows.append([button(_("📋 Весь прайс-лист"), PriceCb(action=PriceAction.PAGE))])
    await message.answer(clip("\n".join(lines)), reply_markup=markup(rows))


async def page(query: CallbackQuery, callback_data: PriceCb, session: DbSession,
               state: FSMContext, staff: Staff, lang: str) -> None:
    await leave_form(state)
    text, kb = await render_page(session, callback_data.arg,
                                 callback_data.action == PriceAction.ARCHIVED, staff, lang)
    await edit_and_answer(query, text, kb)


async def card(query: CallbackQuery, callback_data: PriceCb, session: DbSession,
               state: FSMContext, staff: Staff, lang: str) -> None:
    await leave_form(state)
    if not await manager_only(query, staff):
        return
    text, kb = await render_card(session, callback_data.id, lang)
    await edit_and_answer(query, text, kb)


async def archive(query: CallbackQuery, callback_data: PriceCb, session: DbSession,
                  staff: Staff, lang: str) -> None:
    if not await manager_only(query, staff):
        return
    try:
        await archive_service(session, staff, callback_data.id,
                              archived=callback_data.action == PriceAction.ARCHIVE)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    text, kb = await render_card(session, callback_data.id, lang)
    await edit_and_answer(query, text, kb, note=_("Сохранено"))


def setup() -> Router:
    router = Router(name="money.price_list")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(services_command, Command("services"))
    router.callback_query.register(
        page, PriceCb.filter(F.action.in_({PriceAction.PAGE, PriceAction.ARCHIVED})))
    router.callback_query.register(card, PriceCb.filter(F.action == PriceAction.CARD))
    router.callback_query.register(
        archive, PriceCb.filter(F.action.in_({PriceAction.ARCHIVE, PriceAction.UNARCHIVE})))
    return router
