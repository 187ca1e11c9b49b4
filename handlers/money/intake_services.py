"""The intake review's "🧾 Услуги" field: price-list services picked by code or name that become
the ticket's first unpaid receipt (the quote) when the ticket is accepted. Intake keeps only
service ids in its form data; these helpers render and resolve them (how many fit on the quote
is db.desk.intake's rule)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import echo, h, money
from db.engine import DbSession
from db.money.models import Service
from db.money.price_list import active_services, find_services, get_service_by_code
from keyboards.callbacks import IntakeAction, IntakeCb
from keyboards.common import button, markup

SEARCH_SHOWN = 8


async def chosen(session: DbSession, ids: Sequence[int]) -> list[Service]:
    return await active_services(session, ids)


async def review_line(session: DbSession, ids: Sequence[int], lang: str) -> str:
    services = await chosen(session, ids)
    if not services:
        return _("🧾 Услуги: {text}").format(text="—")
    names = ", ".join(h(s.name) for s in services)
    total = money(sum(s.price for s in services), lang)
    return _("🧾 Услуги: {text}").format(text=f"{names} = {total}")


async def picker(session: DbSession, ids: Sequence[int], lang: str
                 ) -> tuple[str, InlineKeyboardMarkup]:
    """The field's screen: what is picked (tap to remove) and how to add more."""
    services = await chosen(session, ids)
    lines = [_("🧾 Услуги для предварительного чека. Напишите код или часть названия.")]
    lines.extend(f"• {h(s.code)} · {h(s.name)} — {money(s.price, lang)}" for s in services)
    rows = [[button(f"✖ {s.code} · {s.name}", IntakeCb(action=IntakeAction.SERVICE, arg=s.id))]
            for s in services]
    rows.append([button(_("← Готово"), IntakeCb(action=IntakeAction.BACK))])
    return "\n".join(lines), markup(rows)


async def search(session: DbSession, text: str, lang: str
                 ) -> tuple[Service | None, str, InlineKeyboardMarkup]:
    """An exact code is taken at once; otherwise a pick list of name matches."""
    exact = await get_service_by_code(session, text)
    if exact is not None and not exact.archived:
        return exact, "", markup([])
    found = await find_services(session, text, limit=SEARCH_SHOWN)
    rows = [[button(f"{s.code} · {s.name} · {money(s.price, lang)}",
                    IntakeCb(action=IntakeAction.SERVICE, arg=s.id))] for s in found]
    rows.append([button(_("← Готово"), IntakeCb(action=IntakeAction.BACK))])
    if found:
        return None, _("Найдено: {count}. Выберите услугу:").format(count=len(found)), markup(rows)
    return None, _("«{text}» в прайс-листе нет. Напишите иначе: код или часть названия."
                   ).format(text=echo(text)), markup(rows)
