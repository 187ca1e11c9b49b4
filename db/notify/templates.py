"""Message templates the owner and managers edit in /templates: validation, rendering,
preview, CRUD. Changing a template is for an owner or a manager (checked here, whoever calls).

Decision: one text + one language per row. A client gets a template in their language
(`Client.language`, else the shop's CLIENT_LANGUAGE); each (kind, language) has one default.

Placeholders are `{name} {device} {ticket} {amount_due} {shop} {address} {phone}` only;
`{{` and `}}` are literal braces. A line whose placeholders all render empty is dropped, so
"До сплати: {amount_due}" disappears when nothing is due and an unset address leaves no
dangling "Адреса:".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_manager
from db.audit import audit
from db.base import utcnow
from db.desk.models import Staff
from db.errors import InvalidValue, NotFound
from db.notify.errors import TemplateInvalid, TemplateNameTaken
from db.notify.models import MessageTemplate

PLACEHOLDERS = ("name", "device", "ticket", "amount_due", "shop", "address", "phone")
LANGUAGES = ("ru", "uk")
TEXT_MAX = 1000  # fits a photo caption (1024) and keeps an SMS affordable
NAME_MAX = 64
KIND_RE = re.compile(r"^[a-z_]{1,20}$")


@dataclass(frozen=True)
class ShopInfo:
    """The shop as clients see it (SHOP_NAME, SHOP_ADDRESS, SHOP_PHONE)."""

    name: str = ""
    address: str = ""
    phone: str = ""


# -- text: validate, render, preview --------------------------------------------------------

def _tokens(text: str) -> list[tuple[str, str, int]]:
    """Split into ("text", literal, pos) and ("field", name, pos); raise on broken braces or
    bad placeholders. A hand scanner (not string.Formatter) so errors carry a position."""
    out: list[tuple[str, str, int]] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise TemplateInvalid("broken_brace", "}", i)
        if char != "{":
            literal.append(char)
            i += 1
            continue
        close = text.find("}", i + 1)
        reopen = text.find("{", i + 1)
        if close == -1 or (reopen != -1 and reopen < close):
            raise TemplateInvalid("broken_brace", "{", i)
        field = text[i + 1 : close]
        if field not in PLACEHOLDERS:
            shown = "{" + field + "}"
            if not field or any(c in field for c in ".![]:"):
                raise TemplateInvalid("bad_placeholder", shown, i)
            raise TemplateInvalid("unknown_placeholder", shown, i, allowed=list(PLACEHOLDERS))
        if literal:
            out.append(("text", "".join(literal), i))
            literal = []
        out.append(("field", field, i))
        i = close + 1
    if literal:
        out.append(("text", "".join(literal), n))
    return out


def validate_text(text: str) -> str:
    """The text to store (trimmed), or TemplateInvalid naming the problem."""
    value = (text or "").strip()
    if not value:
        raise TemplateInvalid("empty")
    if len(value) > TEXT_MAX:
        raise TemplateInvalid("too_long", limit=TEXT_MAX)
    _tokens(value)
    return value


def placeholders_in(text: str) -> list[str]:
    return [value for kind, value, _ in _tokens(text) if kind == "field"]


def render(template_text: str, context: Mapping[str, str]) -> str:
    """Fill placeholders from `context` (missing = empty) and drop lines left with nothing
    but their labels. Raises TemplateInvalid for a text that would not be saved."""
    lines: list[str] = []
    current: list[str] = []
    fields = filled = 0

    def end_line() -> None:
        nonlocal fields, filled
        if not fields or filled:
            lines.append("".join(current))
        current.clear()
        fields = filled = 0

    for kind, value, _ in _tokens(template_text):
        if kind == "field":
            rendered = str(context.get(value) or "").strip()
            fields += 1
            filled += bool(rendered)
            current.append(rendered)
            continue
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                end_line()
            current.append(part)
    end_line()
    return "\n".join(lines).strip()


# -- ticket context --------------------------------------------------------------------------

def client_language(language: str | None, default: str) -> str:
    return language if language in LANGUAGES else default


# -- CRUD -------------------------------------------------------------------------------------

def _check_kind_language(kind: str, language: str) -> None:
    if not KIND_RE.match(kind):
        raise InvalidValue("kind")
    if language not in LANGUAGES:
        raise InvalidValue("language", allowed=list(LANGUAGES))


def clean_name(name: str) -> str:
    """A template's name as stored (spaces collapsed), or InvalidValue("name", reason=...)."""
    value = " ".join((name or "").split())
    if not value:
        raise InvalidValue("name", reason="required")
    if len(value) > NAME_MAX:
        raise InvalidValue("name", reason="too_long", limit=NAME_MAX)
    return value


async def list_templates(
    session: AsyncSession, kind: str | None = None, language: str | None = None,
) -> list[MessageTemplate]:
    query = select(MessageTemplate).order_by(
        MessageTemplate.kind, MessageTemplate.language, MessageTemplate.position,
        MessageTemplate.id,
    )
    if kind is not None:
        query = query.where(MessageTemplate.kind == kind)
    if language is not None:
        query = query.where(MessageTemplate.language == language)
    return list(await session.scalars(query))


async def ready_templates(session: AsyncSession, language: str) -> list[MessageTemplate]:
    """"Можно забирать" templates in the client's language (default first); the other
    language's when that one has none."""
    found = await list_templates(session, kind="ready", language=language)
    if not found:
        found = await list_templates(session, kind="ready")
    return sorted(found, key=lambda t: (not t.is_default, t.position, t.id))


async def get_template(session: AsyncSession, template_id: int) -> MessageTemplate:
    template = await session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound("template", template_id=template_id)
    return template


async def default_template(
    session: AsyncSession, kind: str, language: str,
) -> MessageTemplate | None:
    """The default of (kind, language); else the first of that language; else the other
    language's default — a message in the other language beats no message."""
    rows = await session.scalars(
        select(MessageTemplate).where(MessageTemplate.kind == kind).order_by(
            (MessageTemplate.language != language), MessageTemplate.is_default.desc(),
            MessageTemplate.position, MessageTemplate.id,
        ).limit(1)
    )
    return rows.first()


async def _name_taken(
    session: AsyncSession, kind: str, language: str, name: str, exclude_id: int | None = None,
) -> bool:
    # Compared in Python: SQLite's lower() does not fold Cyrillic.
    rows = await session.execute(select(MessageTemplate.id, MessageTemplate.name).where(
        MessageTemplate.kind == kind, MessageTemplate.language == language))
    folded = name.casefold()
    return any(n.casefold() == folded and i != exclude_id for i, n in rows)


async def _make_default(session: AsyncSession, template: MessageTemplate) -> None:
    await session.execute(
        update(MessageTemplate).where(
            MessageTemplate.kind == template.kind, MessageTemplate.language == template.language,
            MessageTemplate.id != template.id,
        ).values(is_default=False).execution_options(synchronize_session="fetch")
    )
    template.is_default = True
    await session.flush()


async def create_template(
    session: AsyncSession, actor: Staff, *, kind: str, language: str, name: str,
    text: str, is_default: bool = False,
) -> MessageTemplate:
    """Add a template; the first one of its (kind, language) becomes the default."""
    require_manager(actor)
    _check_kind_language(kind, language)
    name = clean_name(name)
    text = validate_text(text)
    if await _name_taken(session, kind, language, name):
        raise TemplateNameTaken(name)
    count = await session.scalar(
        select(func.count()).select_from(MessageTemplate).where(
            MessageTemplate.kind == kind, MessageTemplate.language == language)
    ) or 0
    now = utcnow()
    template = MessageTemplate(kind=kind, language=language, name=name, text=text,
                               is_default=False, position=(count + 1) * 10,
                               created_at=now, updated_at=now)
    session.add(template)
    await session.flush()
    if is_default or count == 0:
        await _make_default(session, template)
    audit(session, actor, "template.create", "template", template.id, kind=kind,
          language=language, name=name)
    return template


async def update_template(
    session: AsyncSession, actor: Staff, template_id: int, *, name: str | None = None,
    text: str | None = None, make_default: bool = False,
) -> MessageTemplate:
    require_manager(actor)
    template = await get_template(session, template_id)
    changes: dict[str, object] = {}
    if name is not None:
        cleaned = clean_name(name)
        if await _name_taken(session, template.kind, template.language, cleaned, template.id):
            raise TemplateNameTaken(cleaned)
        template.name = changes["name"] = cleaned
    if text is not None:
        template.text = changes["text"] = validate_text(text)
    if make_default and not template.is_default:
        await _make_default(session, template)
        changes["is_default"] = True
    template.updated_at = utcnow()
    audit(session, actor, "template.update", "template", template.id, **changes)
    return template


async def delete_template(session: AsyncSession, actor: Staff, template_id: int) -> None:
    """Delete; if it was the default, the next one of its (kind, language) takes over.
    Pending outbox messages are unaffected (their text is already rendered)."""
    require_manager(actor)
    template = await get_template(session, template_id)
    kind, language, was_default = template.kind, template.language, template.is_default
    await session.delete(template)
    await session.flush()
    if was_default:
        heir = await session.scalar(
            select(MessageTemplate).where(MessageTemplate.kind == kind,
                                          MessageTemplate.language == language)
            .order_by(MessageTemplate.position, MessageTemplate.id).limit(1)
        )
        if heir is not None:
            heir.is_default = True
            await session.flush()
    audit(session, actor, "template.delete", "template", template_id, kind=kind,
          language=language)
