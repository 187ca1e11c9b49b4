"""The wording of client messages queued for ticket events (plain text for the outbox), each in
the client's language; and the staff notice of a client's answer, in the staff member's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import money_text
from bot.views.links import StatusLinks
from bot.views.templates import compose
from db.desk.models import Client, Staff, Status, Ticket
from db.desk.phones import format_phone
from db.notify.models import MessageTemplate
from db.notify.outbox import Buttons, Notice
from db.notify.templates import client_language
from keyboards.callbacks import TicketAction, TicketCb
from keyboards.common import button
from keyboards.notify import EstimateAction, EstimateCb, MyTicketAction, MyTicketCb


def client_lang(client: Client | None, settings: Settings) -> str:
    return client_language(client.language if client else None, settings.client_language)


@contextmanager
def in_locale(lang: str) -> Iterator[None]:
    """Render `_()` texts in `lang` (e.g. the client's) inside a staff member's update."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        yield
        return
    with i18n.use_locale(lang):
        yield


def device_name(ticket: Ticket) -> str:
    return ticket.device.title


def view_button(ticket_id: int) -> Buttons:
    """The outbox form of a "📋 Статус ремонта" button (the client's locale is current)."""
    return [[{"text": _("📋 Статус ремонта"),
              "callback_data": MyTicketCb(action=MyTicketAction.VIEW, id=ticket_id).pack()}]]


def estimate_buttons(ticket_id: int, event: int) -> list[InlineKeyboardButton]:
    return [button(_("✅ Согласовать"),
                   EstimateCb(action=EstimateAction.APPROVE, id=ticket_id, ev=event)),
            button(_("❌ Отказаться"),
                   EstimateCb(action=EstimateAction.DECLINE, id=ticket_id, ev=event))]


def greeting(ticket: Ticket) -> str:
    name = ticket.client.name
    return _("Здравствуйте, {name}!").format(name=name) if name else _("Здравствуйте!")


def shop_signature(settings: Settings) -> str:
    """"Сервіс Плюс +380…": who writes, and whom to call (also the last line of the ready
    templates' SMS, so a client knows an SMS is from the shop they left the device at)."""
    return " ".join(p for p in (settings.shop_name, settings.shop_phone) if p)


def intake_text(ticket: Ticket, link: str, settings: Settings) -> tuple[str, str]:
    """(Telegram text, SMS text) of the intake confirmation."""
    signature = shop_signature(settings)
    text = "\n".join(p for p in (
        greeting(ticket),
        _("Ваше устройство {device} принято в ремонт, обращение №{number}.").format(
            device=device_name(ticket), number=ticket.number),
        _("Статус ремонта всегда здесь: {link}").format(link=link),
        signature,
    ) if p)
    sms = _("Обращение №{number} принято. Статус: {link}").format(
        number=ticket.number, link=link)
    return text, "\n".join(p for p in (sms, signature) if p)


STATUS_HINTS = {
    "diagnostics": lambda: _("Мастер проводит диагностику."),
    "waiting_parts": lambda: _("Ждём запчасть — сообщим, как только она придёт."),
    "in_work": lambda: _("Мастер приступил к ремонту."),
    "refused": lambda: _("Ремонт выполняться не будет. Устройство можно забрать."),
}


def status_text(ticket: Ticket, status: Status, lang: str) -> str:
    lines = [_("Обращение №{number} ({device}): статус «{status}».").format(
        number=ticket.number, device=device_name(ticket), status=status.title(lang))]
    hint = STATUS_HINTS.get(status.code)
    if hint is not None:
        lines.append(hint())
    return "\n".join(lines)


def estimate_text(ticket: Ticket, due: int, lang: str, link: str,
                  settings: Settings) -> tuple[str, str]:
    """(Telegram text, SMS text) asking the client to approve the estimate."""
    lines = [greeting(ticket),
             _("Нужно ваше согласие на ремонт: {device}, обращение №{number}.").format(
                 device=device_name(ticket), number=ticket.number)]
    amounts = []
    if ticket.estimate is not None:
        amounts.append(_("Стоимость ремонта: {amount}").format(
            amount=money_text(ticket.estimate, lang)))
    if due and due != ticket.estimate:
        amounts.append(_("По счёту к оплате: {amount}").format(amount=money_text(due, lang)))
    if not amounts:
        amounts.append(_("Стоимость уточнит мастер."))
    lines.extend(amounts)
    lines.append(_("Нажмите «Согласовать» или «Отказаться»."))
    if settings.shop_phone:
        lines.append(_("Вопросы: {phone}").format(phone=settings.shop_phone))
    sms_amount = money_text(ticket.estimate if ticket.estimate is not None else due, lang) \
        if (ticket.estimate is not None or due) else ""
    sms = _("Обращение №{number}: нужно согласие на ремонт {amount}. Ответьте: {link}").format(
        number=ticket.number, amount=sms_amount, link=link)
    return "\n".join(lines), " ".join(sms.split())


def answer_text(ticket: Ticket, approved: bool, lang: str) -> str:
    who = ticket.client.full_name or format_phone(ticket.client.phone)
    template = (_("✅ Клиент согласовал ремонт: [{number}] {device} — {client}. "
                  "Статус: «{status}».") if approved else
                _("❌ Клиент отказался от ремонта: [{number}] {device} — {client}. "
                  "Статус: «{status}»."))
    return template.format(number=ticket.number, device=ticket.device.title, client=who,
                           status=ticket.status.title(lang))


class ClientNoticeTexts:
    """`bot.usecases.notices.NoticeTexts` in the people's own languages."""

    def __init__(self, settings: Settings, links: StatusLinks) -> None:
        self.settings = settings
        self.links = links

    async def intake(self, ticket: Ticket) -> Notice:
        link = await self.links.ticket(ticket)
        with in_locale(client_lang(ticket.client, self.settings)):
            text, sms = intake_text(ticket, link, self.settings)
            return Notice(text, sms, view_button(ticket.id))

    async def status(self, ticket: Ticket, status: Status) -> Notice:
        language = client_lang(ticket.client, self.settings)
        with in_locale(language):
            return Notice(status_text(ticket, status, language), None, view_button(ticket.id))

    async def estimate(self, ticket: Ticket, due: int, event: int) -> Notice:
        link = await self.links.ticket(ticket)
        language = client_lang(ticket.client, self.settings)
        with in_locale(language):
            text, sms = estimate_text(ticket, due, language, link, self.settings)
            buttons: Buttons = [[{"text": b.text, "callback_data": b.callback_data or ""}
                                 for b in estimate_buttons(ticket.id, event)]]
            return Notice(text, sms, buttons)

    async def ready(self, ticket: Ticket, template: MessageTemplate, due: int) -> Notice:
        composed = compose(ticket, template, self.settings.shop, due)
        with in_locale(composed.language):  # the button speaks the template's language
            return Notice(composed.text, None, view_button(ticket.id))

    async def answer_to_staff(self, ticket: Ticket, approved: bool, person: Staff) -> Notice:
        lang = person.language or self.settings.default_language
        with in_locale(lang):
            text = answer_text(ticket, approved, lang)
            open_text = _("Открыть [{number}]").format(number=ticket.number)
        return Notice(text, None, [[{"text": open_text, "callback_data": TicketCb(
            action=TicketAction.CARD, id=ticket.id).pack()}]])
