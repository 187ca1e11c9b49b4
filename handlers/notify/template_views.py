"""What /templates shows: the list, a template's card with its preview, and the small texts the
editor's screens share (handlers/notify/templates.py, template_form.py)."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h
from bot.views.templates import preview
from db.desk.models import Role
from db.engine import DbSession
from db.errors import InvalidValue, NotFound
from db.notify.errors import TemplateInvalid
from db.notify.models import MessageKind, MessageTemplate
from db.notify.templates import (
    LANGUAGES,
    NAME_MAX,
    PLACEHOLDERS,
    ShopInfo,
    get_template,
    list_templates,
)
from handlers.notify.error_texts import template_error
from keyboards.common import button, markup
from keyboards.notify import TemplateAction, TemplateCb

# The texts the shop words itself; intake, status and estimate messages come from the catalog.
KINDS = (MessageKind.READY, MessageKind.REMINDER)
EDITORS = (Role.OWNER, Role.MANAGER)


def kind_title(kind: str) -> str:
    titles: dict[str, str] = {MessageKind.READY: _("📨 Можно забирать"),
                              MessageKind.REMINDER: _("⏰ Напоминание")}
    return titles.get(kind, kind)


def language_title(language: str) -> str:
    return {"uk": _("українською"), "ru": _("на русском")}.get(language, language)


def placeholders_hint() -> str:
    return _("Подстановки: {placeholders}").format(
        placeholders=" ".join("{" + p + "}" for p in PLACEHOLDERS))


def name_error(exc: InvalidValue) -> str:
    if exc.params.get("reason") == "too_long":
        return _("Слишком длинное название: не больше {limit} символов.").format(limit=NAME_MAX)
    return _("Напишите название шаблона, например «Коротко».")


def stale_button() -> str:
    return _("Кнопка устарела — откройте /templates заново.")


def cancel_kb(back: TemplateCb | None = None) -> InlineKeyboardMarkup:
    return markup([[button(_("✖️ Отмена"), back or TemplateCb(action=TemplateAction.LIST))]])


def _default_mark(template: MessageTemplate) -> str:
    return " ⭐" if template.is_default else ""


def _kind_lines(kind: MessageKind, of_kind: list[MessageTemplate]) -> list[str]:
    lines = ["", f"<b>{kind_title(kind)}</b>"]
    if not of_kind:
        lines.append("  " + _("нет шаблонов"))
    for language in LANGUAGES:
        names = [h(t.name) + _default_mark(t) for t in of_kind if t.language == language]
        if names:
            lines.append(f"  {language}: " + " · ".join(names))
    return lines


async def list_view(session: DbSession) -> tuple[str, InlineKeyboardMarkup]:
    templates = await list_templates(session)
    lines = [_("✉️ <b>Шаблоны сообщений</b>"), h(placeholders_hint())]
    rows: list[list[InlineKeyboardButton]] = []
    for kind in KINDS:
        of_kind = [t for t in templates if t.kind == kind]
        lines.extend(_kind_lines(kind, of_kind))
        rows.extend([button(f"{kind_title(kind).split()[0]} {t.language} · {t.name}"
                            + _default_mark(t),
                            TemplateCb(action=TemplateAction.OPEN, id=t.id))]
                    for t in of_kind)
    rows.append([button(_("➕ Новый шаблон"), TemplateCb(action=TemplateAction.NEW))])
    return "\n".join(lines), markup(rows)


def card_view(template: MessageTemplate, shop: ShopInfo) -> tuple[str, InlineKeyboardMarkup]:
    head = f"{kind_title(template.kind)} · {template.language}"
    if template.is_default:
        head += " · " + _("⭐ основной")
    lines = [head, f"<b>{h(template.name)}</b>", "", _("<b>Текст:</b>"), h(template.text),
             "", _("<b>Так увидит клиент:</b>")]
    try:
        lines.append(h(preview(template.text, template.language, shop)))
    except TemplateInvalid as exc:
        lines.append(template_error(exc))
    rows = [[button(_("✏️ Текст"), TemplateCb(action=TemplateAction.TEXT, id=template.id)),
             button(_("✏️ Название"), TemplateCb(action=TemplateAction.NAME, id=template.id))]]
    if not template.is_default:
        rows.append([button(_("⭐ Сделать основным"),
                            TemplateCb(action=TemplateAction.DEFAULT, id=template.id))])
    rows.append([button(_("🗑 Удалить"), TemplateCb(action=TemplateAction.DELETE,
                                                    id=template.id))])
    rows.append([button(_("← Все шаблоны"), TemplateCb(action=TemplateAction.LIST))])
    return "\n".join(lines), markup(rows)


async def open_template(query: CallbackQuery, session: DbSession,
                        template_id: int) -> MessageTemplate | None:
    """The template a button names, or None after telling the person it is gone."""
    try:
        return await get_template(session, template_id)
    except NotFound:
        await query.answer(_("Шаблон не найден — возможно, его удалили."), show_alert=True)
        return None
