"""The /templates form: a new template (kind → language → name → text → preview → save) and
editing a template's name or text. A text with an unknown placeholder or a broken brace is
refused when typed, naming the problem, and a text is only saved after its preview
("💾 Сохранить")."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import h
from bot.views.templates import preview
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError, InvalidValue
from db.notify.errors import TemplateInvalid
from db.notify.models import MessageTemplate
from db.notify.templates import (
    LANGUAGES,
    clean_name,
    create_template,
    update_template,
    validate_text,
)
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.forms import FormData, load, save, update
from handlers.notify.error_texts import template_error
from handlers.notify.template_views import (
    EDITORS,
    KINDS,
    cancel_kb,
    card_view,
    kind_title,
    language_title,
    name_error,
    open_template,
    placeholders_hint,
    stale_button,
)
from handlers.ui import edit_and_answer
from keyboards.common import DbId, button, markup
from keyboards.notify import TemplateAction, TemplateCb

ALERT_MAX = 200  # Telegram's limit for a button's alert


class TemplateForm(StatesGroup):
    name = State()
    text = State()


class TemplateData(FormData):
    kind: str  # a MessageKind value (a stored template may have a kind newer than the enum)
    language: str
    template_id: DbId | None = None  # the template being edited; None: a new one
    name: str = ""
    text: str = ""  # the previewed text, saved by "💾 Сохранить"


def stale_form() -> str:
    return _("Форма устарела — откройте /templates заново.")


def back_to(data: TemplateData) -> TemplateCb:
    """Where "Отмена" leads: the template being edited, or the list."""
    if data.template_id is not None:
        return TemplateCb(action=TemplateAction.OPEN, id=data.template_id)
    return TemplateCb(action=TemplateAction.LIST)


async def start_edit(state: FSMContext, template: MessageTemplate, step: State) -> None:
    await state.set_state(step)
    await save(state, TemplateData(kind=template.kind, language=template.language,
                                   template_id=template.id))


# ---- new: kind → language → name ------------------------------------------------------------

async def new_template(query: CallbackQuery) -> None:
    rows = [[button(kind_title(k), TemplateCb(action=TemplateAction.KIND, kind=k))]
            for k in KINDS]
    rows.append([button(_("✖️ Отмена"), TemplateCb(action=TemplateAction.LIST))])
    await edit_and_answer(query, _("Новый шаблон: для какого сообщения?"), markup(rows))


async def new_kind(query: CallbackQuery, callback_data: TemplateCb) -> None:
    if callback_data.kind not in KINDS:
        await query.answer(stale_button(), show_alert=True)
        return
    rows = [[button(language_title(lang),
                    TemplateCb(action=TemplateAction.LANG, kind=callback_data.kind, lang=lang))]
            for lang in LANGUAGES]
    rows.append([button(_("✖️ Отмена"), TemplateCb(action=TemplateAction.LIST))])
    await edit_and_answer(query, _("На каком языке? Клиент получает шаблоны своего языка."),
                          markup(rows))


async def new_language(query: CallbackQuery, callback_data: TemplateCb,
                       state: FSMContext) -> None:
    kind, language = callback_data.kind, callback_data.lang
    if kind is None or kind not in KINDS or language not in LANGUAGES:
        await query.answer(stale_button(), show_alert=True)
        return
    await state.set_state(TemplateForm.name)
    await save(state, TemplateData(kind=kind, language=language))
    await edit_and_answer(query, _("Название шаблона (его видит мастер на кнопке), например "
                                   "«Коротко»:"), cancel_kb())


async def got_name(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                   settings: Settings) -> None:
    data = await load(state, TemplateData)
    if data is None:
        await state.clear()
        await message.answer(stale_form())
        return
    try:
        name = clean_name(message.text or "")
    except InvalidValue as exc:
        await message.answer(name_error(exc))
        return
    if data.template_id is not None:
        await rename(message, session, state, staff, settings, data.template_id, name)
        return
    await update(state, data, name=name)
    await state.set_state(TemplateForm.text)
    await message.answer(
        _("Теперь текст сообщения. Пустые строки с подстановками исчезают сами "
          "(например, «К оплате: {amount}», когда платить нечего).").format(
            amount="{amount_due}") + "\n" + h(placeholders_hint()),
        reply_markup=cancel_kb())


async def rename(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                 settings: Settings, template_id: int, name: str) -> None:
    try:
        template = await update_template(session, staff, template_id, name=name)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    text, kb = card_view(template, settings.shop)
    await message.answer(_("✅ Название сохранено.") + "\n\n" + text, reply_markup=kb)


async def name_not_text(message: Message) -> None:
    await message.answer(_("Напишите название текстом. Отмена — /cancel."))


# ---- edit ---------------------------------------------------------------------------------

async def edit_text(query: CallbackQuery, callback_data: TemplateCb, session: DbSession,
                    state: FSMContext) -> None:
    template = await open_template(query, session, callback_data.id)
    if template is None:
        return
    await start_edit(state, template, TemplateForm.text)
    await edit_and_answer(
        query,
        _("Пришлите новый текст шаблона «{name}». Сейчас:").format(name=h(template.name))
        + "\n\n" + h(template.text) + "\n\n" + h(placeholders_hint()),
        cancel_kb(TemplateCb(action=TemplateAction.OPEN, id=template.id)))


async def edit_name(query: CallbackQuery, callback_data: TemplateCb, session: DbSession,
                    state: FSMContext) -> None:
    template = await open_template(query, session, callback_data.id)
    if template is None:
        return
    await start_edit(state, template, TemplateForm.name)
    await edit_and_answer(
        query, _("Новое название шаблона «{name}»:").format(name=h(template.name)),
        cancel_kb(TemplateCb(action=TemplateAction.OPEN, id=template.id)))


# ---- the text, its preview, saving ----------------------------------------------------------

async def got_text(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await load(state, TemplateData)
    if data is None:
        await state.clear()
        await message.answer(stale_form())
        return
    try:
        text = validate_text(message.text or "")
        sample = preview(text, data.language, settings.shop)
    except TemplateInvalid as exc:
        await message.answer(template_error(exc) + "\n" + _("Исправьте и пришлите ещё раз."))
        return
    await update(state, data, text=text)
    await message.answer(
        _("<b>Так увидит клиент:</b>") + "\n\n" + h(sample) + "\n\n"
        + _("Сохранить? Или пришлите исправленный текст."),
        reply_markup=markup([[button(_("💾 Сохранить"), TemplateCb(action=TemplateAction.SAVE)),
                              button(_("✖️ Отмена"), back_to(data))]]))


async def text_not_text(message: Message) -> None:
    await message.answer(_("Нужен текст сообщения. Отмена — /cancel."))


async def save_template(query: CallbackQuery, session: DbSession, state: FSMContext,
                        staff: Staff, settings: Settings) -> None:
    data = await load(state, TemplateData)
    if await state.get_state() != TemplateForm.text.state or data is None or not data.text:
        await query.answer(stale_form(), show_alert=True)
        return
    try:
        if data.template_id is not None:
            template = await update_template(session, staff, data.template_id, text=data.text)
        else:
            template = await create_template(session, staff, kind=data.kind,
                                             language=data.language, name=data.name,
                                             text=data.text)
    except DomainError as exc:
        await query.answer(error_text(exc)[:ALERT_MAX], show_alert=True)
        return
    await state.clear()
    text, kb = card_view(template, settings.shop)
    await edit_and_answer(query, _("✅ Шаблон сохранён.") + "\n\n" + text, kb)


def setup() -> Router:
    router = Router(name="notify_template_form")
    # A second line: the db/ operations refuse other roles themselves.
    router.message.filter(IsStaff(*EDITORS))
    router.callback_query.filter(IsStaff(*EDITORS))
    router.callback_query.register(new_template,
                                   TemplateCb.filter(F.action == TemplateAction.NEW))
    router.callback_query.register(new_kind, TemplateCb.filter(F.action == TemplateAction.KIND))
    router.callback_query.register(new_language,
                                   TemplateCb.filter(F.action == TemplateAction.LANG))
    router.callback_query.register(edit_text, TemplateCb.filter(F.action == TemplateAction.TEXT))
    router.callback_query.register(edit_name, TemplateCb.filter(F.action == TemplateAction.NAME))
    router.callback_query.register(save_template,
                                   TemplateCb.filter(F.action == TemplateAction.SAVE))
    router.message.register(got_name, TemplateForm.name, F.text, NotCommand())
    router.message.register(name_not_text, TemplateForm.name, NotCommand())
    router.message.register(got_text, TemplateForm.text, F.text, NotCommand())
    router.message.register(text_not_text, TemplateForm.text, NotCommand())
    return router
