"""Message templates filled in for people: a ticket's placeholder values (amounts for clients
are "1 200,50 грн"), the editor's preview with sample data, and composing a template for a
ticket in the client's language. Validation, rendering and storage are db.notify.templates."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.views.formatting import money_text
from db.desk.models import Ticket
from db.desk.tickets import get_ticket
from db.errors import NotFound
from db.notify.models import MessageTemplate
from db.notify.templates import (
    ShopInfo,
    client_language,
    default_template,
    get_template,
    render,
    validate_text,
)

SAMPLE_SHOP = ShopInfo("Сервісний центр", "вул. Соборна, 12", "+380 67 123 4567")
_SAMPLES = {
    "uk": {"name": "Олена", "device": "Samsung Galaxy A52", "ticket": "125"},
    "ru": {"name": "Елена", "device": "Samsung Galaxy A52", "ticket": "125"},
}


def _seeded_names() -> dict[str, str]:
    """The names the migrations give the seeded templates, in either language's spelling →
    the name in the reader's language."""
    ready, short, reminder = _("Можно забирать"), _("Коротко (SMS)"), _("Напоминание")
    return {"можно забирать": ready, "можна забирати": ready, "коротко (sms)": short,
            "напоминание": reminder, "нагадування": reminder}


def template_label(template: MessageTemplate) -> str:
    """A template's name for a staff member's screen: a seeded template's in the staff
    member's language (the row's own name is in the client's: "Можна забирати" on a Russian
    screen otherwise); a name somebody typed, as typed."""
    return _seeded_names().get(template.name.casefold(), template.name)


def language_name(code: str) -> str:
    return {"uk": _("украинский"), "ru": _("русский")}.get(code, code)


def sample_context(language: str, shop: ShopInfo | None = None) -> dict[str, str]:
    shop = shop if shop and (shop.name or shop.address or shop.phone) else SAMPLE_SHOP
    base = _SAMPLES.get(language, _SAMPLES["uk"])
    return {**base, "amount_due": money_text(125000, language), "shop": shop.name,
            "address": shop.address, "phone": shop.phone}


def preview(text: str, language: str = "uk", shop: ShopInfo | None = None) -> str:
    """The text rendered with sample data (and the shop's own name/address/phone if set);
    validates first, so the editor shows the same error saving would."""
    return render(validate_text(text), sample_context(language, shop))


async def ticket_context(
    session: AsyncSession, ticket_id: int, *, shop: ShopInfo, amount_due: int | None,
    language: str,
) -> dict[str, str]:
    """Placeholder values for a ticket. `amount_due` (kopecks) comes from the money side;
    None or 0 leaves {amount_due} empty (its line is then dropped)."""
    return _context(await get_ticket(session, ticket_id), shop, amount_due, language)


def _context(ticket: Ticket, shop: ShopInfo, amount_due: int | None, language: str
             ) -> dict[str, str]:
    return {
        "name": ticket.client.name,
        "device": ticket.device.title if ticket.device.title != "—" else "",
        "ticket": str(ticket.number),
        "amount_due": money_text(amount_due, language) if amount_due else "",
        "shop": shop.name,
        "address": shop.address,
        "phone": shop.phone,
    }


@dataclass(frozen=True)
class ComposedText:
    text: str
    language: str
    template_id: int


async def compose_for_ticket(
    session: AsyncSession, ticket_id: int, *, kind: str, shop: ShopInfo,
    amount_due: int | None = None, template_id: int | None = None,
    default_language: str = "uk",
) -> ComposedText:
    """Render `template_id` (or the default template of `kind` in the client's language) for a
    ticket. NotFound when there is no template at all."""
    ticket = await get_ticket(session, ticket_id)
    language = client_language(ticket.client.language, default_language)
    if template_id is not None:
        template = await get_template(session, template_id)
    else:
        found = await default_template(session, kind, language)
        if found is None:
            raise NotFound("template", kind=kind, language=language)
        template = found
    return compose(ticket, template, shop, amount_due)


def compose(ticket: Ticket, template: MessageTemplate, shop: ShopInfo,
            amount_due: int | None) -> ComposedText:
    """`template` filled in for the ticket, amounts in the template's language."""
    context = _context(ticket, shop, amount_due, template.language)
    return ComposedText(render(template.text, context), template.language, template.id)
