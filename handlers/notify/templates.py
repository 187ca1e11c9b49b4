"""/templates (owner and manager): the list, a template's card, make default, delete. Adding a
template and editing its name or text is the form in template_form.py; the screens are
template_views.py. The db/ operations check the role again."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import h
from db.desk.models import Staff
from db.engine import DbSession
from db.notify.templates import delete_template, update_template
from handlers.filters import IsStaff
from handlers.notify.template_form import TemplateForm
from handlers.notify.template_views import EDITORS, card_view, list_view, open_template
from handlers.ui import edit_and_answer
from keyboards.common import button, markup
from keyboards.notify import TemplateAction, TemplateCb


async def templates_command(message: Message, session: DbSession, state: FSMContext) -> None:
    await state.clear()
    text, kb = await list_view(session)
    await message.answer(text, reply_markup=kb)


async def templates_list(query: CallbackQuery, session: DbSession, state: FSMContext) -> None:
    if (await state.get_state() or "").startswith(TemplateForm.__name__):
        await state.clear()  # "Отмена" of the form lands here
    text, kb = await list_view(session)
    await edit_and_answer(query, text, kb)


async def template_open(query: CallbackQuery, callback_data: TemplateCb, session: DbSession,
                        settings: Settings) -> None:
    template = await open_template(query, session, callback_data.id)
    if template is None:
        return
    text, kb = card_view(template, settings.shop)
    await edit_and_answer(query, text, kb)


async def make_default(query: CallbackQuery, callback_data: TemplateCb, session: DbSession,
                       staff: Staff, settings: Settings) -> None:
    if await open_template(query, session, callback_data.id) is None:
        return
    template = await update_template(session, staff, callback_data.id, make_default=True)
    text, kb = card_view(template, settings.shop)
    await edit_and_answer(query, text, kb, note=_("⭐ Теперь основной"))


async def ask_delete(query: CallbackQuery, callback_data: TemplateCb, session: DbSession) -> None:
    template = await open_template(query, session, callback_data.id)
    if template is None:
        return
    await edit_and_answer(
        query, _("Удалить шаблон «{name}»? Уже поставленные в очередь сообщения уйдут как "
                 "были.").format(name=h(template.name)),
        markup([[button(_("🗑 Да, удалить"),
                           TemplateCb(action=TemplateAction.DELETE_OK, id=template.id)),
                 button(_("Отмена"), TemplateCb(action=TemplateAction.OPEN, id=template.id))]]))


async def delete(query: CallbackQuery, callback_data: TemplateCb, session: DbSession,
                 staff: Staff) -> None:
    if await open_template(query, session, callback_data.id) is None:
        return
    await delete_template(session, staff, callback_data.id)
    text, kb = await list_view(session)
    await edit_and_answer(query, _("🗑 Шаблон удалён.") + "\n\n" + text, kb)


def setup() -> Router:
    router = Router(name="notify_templates")
    # A second line: the db/ operations refuse other roles themselves.
    router.message.filter(IsStaff(*EDITORS))
    router.callback_query.filter(IsStaff(*EDITORS))
    router.message.register(templates_command, Command("templates"))
    router.callback_query.register(templates_list,
                                   TemplateCb.filter(F.action == TemplateAction.LIST))
    router.callback_query.register(template_open,
                                   TemplateCb.filter(F.action == TemplateAction.OPEN))
    router.callback_query.register(make_default,
                                   TemplateCb.filter(F.action == TemplateAction.DEFAULT))
    router.callback_query.register(ask_delete,
                                   TemplateCb.filter(F.action == TemplateAction.DELETE))
    router.callback_query.register(delete,
                                   TemplateCb.filter(F.action == TemplateAction.DELETE_OK))
    return router
