"""The terms printed on the intake receipt ("квитанція про прийом"), one text per language the
shop writes to clients in, set by the owner in /settings and stored in the `settings` table
(`receipt.terms.<language>`, a JSON string). Not set (or cleared) = the bot's default terms
(bot/views/intake_receipt.py). Only an owner changes them (checked here, whoever calls)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import settings_store
from db.access import require_owner
from db.audit import audit
from db.desk.models import Staff
from db.errors import InvalidValue
from db.notify.templates import LANGUAGES

PREFIX = "receipt.terms."
TERMS_MAX = 2000  # about half an A4 page in 9 pt


def _key(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidValue("language", allowed=list(LANGUAGES))
    return PREFIX + language


async def get_terms(session: AsyncSession, language: str) -> str | None:
    """The owner's terms in `language`; None when not set (the default applies)."""
    value = await settings_store.get(session, _key(language))
    return value if isinstance(value, str) and value.strip() else None


async def set_terms(session: AsyncSession, actor: Staff, language: str, text: str) -> None:
    """Store the terms in `language` (trimmed, ≤ TERMS_MAX characters); an empty text goes back
    to the default. Raises PermissionDenied, InvalidValue."""
    require_owner(actor)
    key = _key(language)
    value = (text or "").strip()
    if len(value) > TERMS_MAX:
        raise InvalidValue("terms", reason="too_long", limit=TERMS_MAX)
    await settings_store.put(session, key, value)
    audit(session, actor, "settings.receipt_terms", "setting", None, key=key,
          length=len(value))
