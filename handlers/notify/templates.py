"""/templates (owner and manager): list, add, edit, make default, delete message templates, with a
preview on sample data. A text with an unknown placeholder or a broken brace is refused when
typed, naming the problem, and a new text is only saved after its preview ("💾 Сохранить").

Editable kinds: "Можно забирать" (ready) and the reminder — the texts the shop words itself.
Intake, status and estimate messages come from the catalog (both languages)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import h
from bot.views.templates import preview
from db.desk.models import Role, Staff
from db.errors import DomainError, InvalidValue, NotFound
from db.notify.errors import TemplateInvalid
from db.notify.models import MessageKind, MessageTemplate
from db.notify.templates import (
    LANGUAGES,
    NAME_MAX,
    PLACEHOLDERS,
    clean_name,
    create_template,
    delete_template,
    get_template,
    list_templates,
    update_template,
    validate_text,
)
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.notify.error_texts import template_error
from handlers.ui import edit_or_send
from keyboards.common import button, markup
from keyboards.notify import TemplateCb

KINDS = (MessageKind.READY, MessageKind.REMINDER)
EDITORS = (Role.OWNER, Role.MANAGER)


class TemplateForm(StatesGroup):
    name = State()
    text = State()


def kind_title(kind: str) -> str:
    return {MessageKind.READY: _("📨 Можно забирать"),
            MessageKind.REMINDER: _("⏰ Напоминание")}.get(kind, kind)


def language_title(language: str) -> str:
    return {"uk": _("українською"), "ru": _("на русском")}.get(language, language)


def placeholders_hint() -> str:
    return _("Подстановки: {placeholders}").format(
        placeholders=" ".join("{" + p + "}" for p in PLACEHOLDERS))


def name_error(exc: InvalidValue) -> str:
    if exc.params.get("reason") == "too_long":
        return _("Слишком длинное название: не больше {limit} символов.").format(limit=NAME_MAX)
    return _("Напишите название шаблона, например «Коротко».")


def setup(settings: Settings) -> Router:
    router = Router(name="notify_templates")
    router.message.filter(IsStaff(*EDITORS))
    router.callback_query.filter(IsStaff(*EDITORS))
    shop = settings.shop

    async def list_view(session: AsyncSession) -> tuple[str, InlineKeyboardMarkup]:
        templates = await list_templates(session)
        lines = [_("✉️ <b>Шаблоны сообщений</b>"), h(placeholders_hint())]
        rows = []
        for kind in KINDS:
            of_kind = [t for t in templates if t.kind == kind]
            lines.append("")
            lines.append(f"<b>{kind_title(kind)}</b>")
            if not of_kind:
                lines.append("  " + _("нет шаблонов"))
            for language in LANGUAGES:
                names = [h(t.name) + (" ⭐" if t.is_default else "")
                         for t in of_kind if t.language == language]
                if names:
                    lines.append(f"  {language}: " + " · ".join(names))
            for t in of_kind:
                rows.append([button(f"{kind_title(kind).split()[0]} {t.language} · {t.name}"
                                    + (" ⭐" if t.is_default else ""),
                                    TemplateCb(action="open", id=t.id))])
        rows.append([button(_("➕ Новый шаблон"), TemplateCb(action="new"))])
        return "\n".join(lines), markup(rows)

    async def card_view(template: MessageTemplate) -> tuple[str, InlineKeyboardMarkup]:
        head = f"{kind_title(template.kind)} · {template.language}"
        if template.is_default:
            head += " · " + _("⭐ основной")
        lines = [head, f"<b>{h(template.name)}</b>", "", _("<b>Текст:</b>"), h(template.text),
                 "", _("<b>Так увидит клиент:</b>")]
        try:
            lines.append(h(preview(template.text, template.language, shop)))
        except TemplateInvalid as exc:
            lines.append(template_error(exc))
        rows = [[button(_("✏️ Текст"), TemplateCb(action="text", id=template.id)),
                 button(_("✏️ Название"), TemplateCb(action="name", id=template.id))]]
        if not template.is_default:
            rows.append([button(_("⭐ Сделать основным"),
                                TemplateCb(action="default", id=template.id))])
        rows.append([button(_("🗑 Удалить"), TemplateCb(action="del", id=template.id))])
        rows.append([button(_("← Все шаблоны"), TemplateCb(action="list"))])
        return "\n".join(lines), markup(rows)

    async def open_template(
        query: CallbackQuery, session: AsyncSession, template_id: int,
    ) -> MessageTemplate | None:
        try:
            return await get_template(session, template_id)
        except NotFound:
            await query.answer(_("Шаблон не найден — возможно, его удалили."), show_alert=True)
            return None

    def cancel_kb() -> InlineKeyboardMarkup:
        return markup([[button(_("✖️ Отмена"), TemplateCb(action="list"))]])

    # ---- list and card -----------------------------------------------------------------------
    @router.message(Command("templates"))
    async def templates_command(message: Message, session: AsyncSession,
                                state: FSMContext) -> None:
        await state.clear()
        text, kb = await list_view(session)
        await message.answer(text, reply_markup=kb)

    @router.callback_query(TemplateCb.filter(F.action == "list"))
    async def templates_list(query: CallbackQuery, session: AsyncSession,
                             state: FSMContext) -> None:
        if (await state.get_state() or "").startswith(TemplateForm.__name__):
            await state.clear()
        text, kb = await list_view(session)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(TemplateCb.filter(F.action == "open"))
    async def template_open(query: CallbackQuery, callback_data: TemplateCb,
                            session: AsyncSession) -> None:
        template = await open_template(query, session, callback_data.id)
        if template is None:
            return
        text, kb = await card_view(template)
        await edit_or_send(query, text, kb)
        await query.answer()

    # ---- new: kind → language → name → text → preview → save --------------------------------
    @router.callback_query(TemplateCb.filter(F.action == "new"))
    async def new_template(query: CallbackQuery) -> None:
        rows = [[button(kind_title(k), TemplateCb(action="kind", arg=str(k)))] for k in KINDS]
        rows.append([button(_("✖️ Отмена"), TemplateCb(action="list"))])
        await edit_or_send(query, _("Новый шаблон: для какого сообщения?"), markup(rows))
        await query.answer()

    @router.callback_query(TemplateCb.filter(F.action == "kind"))
    async def new_kind(query: CallbackQuery, callback_data: TemplateCb) -> None:
        if callback_data.arg not in KINDS:
            await query.answer(_("Кнопка устарела — откройте /templates заново."),
                               show_alert=True)
            return
        rows = [[button(language_title(lang),
                        TemplateCb(action="lang", arg=f"{callback_data.arg}.{lang}"))]
                for lang in LANGUAGES]
        rows.append([button(_("✖️ Отмена"), TemplateCb(action="list"))])
        await edit_or_send(query, _("На каком языке? Клиент получает шаблоны своего языка."),
                           markup(rows))
        await query.answer()

    @router.callback_query(TemplateCb.filter(F.action == "lang"))
    async def new_language(query: CallbackQuery, callback_data: TemplateCb,
                           state: FSMContext) -> None:
        kind, _sep, language = callback_data.arg.partition(".")
        if kind not in KINDS or language not in LANGUAGES:
            await query.answer(_("Кнопка устарела — откройте /templates заново."),
                               show_alert=True)
            return
        await state.set_state(TemplateForm.name)
        await state.set_data({"mode": "new", "kind": kind, "language": language})
        await edit_or_send(query, _("Название шаблона (его видит мастер на кнопке), например "
                                    "«Коротко»:"), cancel_kb())
        await query.answer()

    @router.message(TemplateForm.name, F.text, NotCommand())
    async def got_name(message: Message, session: AsyncSession, state: FSMContext,
                       staff: Staff) -> None:
        data = await state.get_data()
        try:
            name = clean_name(message.text or "")
        except InvalidValue as exc:
            await message.answer(name_error(exc))
            return
        if data.get("mode") == "edit":
            try:
                template = await update_template(session, staff, data["id"], name=name)
            except DomainError as exc:
                await message.answer(error_text(exc))
                return
            await state.clear()
            text, kb = await card_view(template)
            await message.answer(_("✅ Название сохранено.") + "\n\n" + text, reply_markup=kb)
            return
        await state.update_data(name=name)
        await state.set_state(TemplateForm.text)
        await message.answer(
            _("Теперь текст сообщения. Пустые строки с подстановками исчезают сами "
              "(например, «К оплате: {amount}», когда платить нечего).").format(
                amount="{amount_due}") + "\n" + h(placeholders_hint()),
            reply_markup=cancel_kb())

    @router.message(TemplateForm.name, NotCommand())
    async def name_not_text(message: Message) -> None:
        await message.answer(_("Напишите название текстом. Отмена — /cancel."))

    # ---- edit ------------------------------------------------------------------------------
    @router.callback_query(TemplateCb.filter(F.action == "text"))
    async def edit_text(query: CallbackQuery, callback_data: TemplateCb, session: AsyncSession,
                        state: FSMContext) -> None:
        template = await open_template(query, session, callback_data.id)
        if template is None:
            return
        await state.set_state(TemplateForm.text)
        await state.set_data({"mode": "edit", "id": template.id, "language": template.language})
        await edit_or_send(
            query,
            _("Пришлите новый текст шаблона «{name}». Сейчас:").format(name=h(template.name))
            + "\n\n" + h(template.text) + "\n\n" + h(placeholders_hint()),
            markup([[button(_("✖️ Отмена"), TemplateCb(action="open", id=template.id))]]))
        await query.answer()

    @router.callback_query(TemplateCb.filter(F.action == "name"))
    async def edit_name(query: CallbackQuery, callback_data: TemplateCb, session: AsyncSession,
                        state: FSMContext) -> None:
        template = await open_template(query, session, callback_data.id)
        if template is None:
            return
        await state.set_state(TemplateForm.name)
        await state.set_data({"mode": "edit", "id": template.id})
        await edit_or_send(
            query, _("Новое название шаблона «{name}»:").format(name=h(template.name)),
            markup([[button(_("✖️ Отмена"), TemplateCb(action="open", id=template.id))]]))
        await query.answer()

    @router.message(TemplateForm.text, F.text, NotCommand())
    async def got_text(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        try:
            text = validate_text(message.text or "")
            sample = preview(text, data.get("language", "uk"), shop)
        except TemplateInvalid as exc:
            await message.answer(template_error(exc) + "\n" + _("Исправьте и пришлите ещё раз."))
            return
        await state.update_data(text=text)
        back = TemplateCb(action="open", id=data["id"]) if data.get("mode") == "edit" \
            else TemplateCb(action="list")
        await message.answer(
            _("<b>Так увидит клиент:</b>") + "\n\n" + h(sample) + "\n\n"
            + _("Сохранить? Или пришлите исправленный текст."),
            reply_markup=markup([[button(_("💾 Сохранить"), TemplateCb(action="save")),
                                  button(_("✖️ Отмена"), back)]]))

    @router.message(TemplateForm.text, NotCommand())
    async def text_not_text(message: Message) -> None:
        await message.answer(_("Нужен текст сообщения. Отмена — /cancel."))

    @router.callback_query(TemplateCb.filter(F.action == "save"))
    async def save(query: CallbackQuery, session: AsyncSession, state: FSMContext,
                   staff: Staff) -> None:
        data = await state.get_data()
        if await state.get_state() != TemplateForm.text.state or not data.get("text"):
            await query.answer(_("Форма устарела — откройте /templates заново."),
                               show_alert=True)
            return
        try:
            if data.get("mode") == "edit":
                template = await update_template(session, staff, data["id"], text=data["text"])
            else:
                template = await create_template(
                    session, staff, kind=data["kind"], language=data["language"],
                    name=data["name"], text=data["text"])
        except DomainError as exc:
            await query.answer(error_text(exc)[:200], show_alert=True)
            return
        await state.clear()
        text, kb = await card_view(template)
        await edit_or_send(query, _("✅ Шаблон сохранён.") + "\n\n" + text, kb)
        await query.answer()

    # ---- default, delete ---------------------------------------------------------------------
    @router.callback_query(TemplateCb.filter(F.action == "default"))
    async def make_default(query: CallbackQuery, callback_data: TemplateCb,
                           session: AsyncSession, staff: Staff) -> None:
        if await open_template(query, session, callback_data.id) is None:
            return
        template = await update_template(session, staff, callback_data.id, make_default=True)
        text, kb = await card_view(template)
        await edit_or_send(query, text, kb)
        await query.answer(_("⭐ Теперь основной"))

    @router.callback_query(TemplateCb.filter(F.action == "del"))
    async def ask_delete(query: CallbackQuery, callback_data: TemplateCb,
                         session: AsyncSession) -> None:
        template = await open_template(query, session, callback_data.id)
        if template is None:
            return
        await edit_or_send(
            query, _("Удалить шаблон «{name}»? Уже поставленные в очередь сообщения уйдут как "
                     "были.").format(name=h(template.name)),
            markup([[button(_("🗑 Да, удалить"), TemplateCb(action="delok", id=template.id)),
                     button(_("Отмена"), TemplateCb(action="open", id=template.id))]]))
        await query.answer()

    @router.callback_query(TemplateCb.filter(F.action == "delok"))
    async def delete(query: CallbackQuery, callback_data: TemplateCb, session: AsyncSession,
                     staff: Staff) -> None:
        if await open_template(query, session, callback_data.id) is None:
            return
        await delete_template(session, staff, callback_data.id)
        text, kb = await list_view(session)
        await edit_or_send(query, _("🗑 Шаблон удалён.") + "\n\n" + text, kb)
        await query.answer()

    return router
