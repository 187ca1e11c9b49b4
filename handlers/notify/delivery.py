"""The notifications part of the ticket card: how the client's messages were delivered, and
the "✅ Можно забирать", "📱 Для клиента" and "🔁 Повторить" buttons (composed into the card by
handlers/ticket_card.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

from bot.views.formatting import BABEL_LOCALES, h
from db.desk.models import StatusKind, Ticket
from db.desk.tickets import allowed_targets
from db.engine import DbSession
from db.notify.models import MessageKind
from db.notify.outbox import DeliveryStatus, delivery_state
from db.notify.policy import SMS_OFF_REASON, STAFF_KIND, TELEGRAM_ONLY_REASON
from keyboards.common import button
from keyboards.notify import NotifyAction, NotifyCb

CARD_MESSAGES = 4  # delivery lines on the card
REASON_SHOWN = 80  # characters of a gateway's error on a delivery line


def kind_label(kind: str) -> str:
    labels: dict[str, str] = {
        MessageKind.INTAKE: _("приём"),
        MessageKind.STATUS: _("статус"),
        MessageKind.ESTIMATE: _("смета"),
        MessageKind.READY: _("можно забирать"),
        MessageKind.REMINDER: _("напоминание"),
        MessageKind.RECEIPT: _("чек"),
        MessageKind.INTAKE_DOC: _("квитанция"),
    }
    return labels.get(kind, _("сообщение"))


def reason_text(error: str | None) -> str:
    """A gateway's or Telegram's error, short and readable."""
    text = (error or "").strip()
    for policy, why in ((SMS_OFF_REASON, _("статусы по SMS выключены в настройках")),
                        (TELEGRAM_ONLY_REASON, _("только в Telegram"))):
        if policy in text:  # the Telegram part, then why no SMS
            before = text.replace(policy, "").strip(" ;")
            return f"{reason_text(before)}; {why}" if before else why
    low = text.lower()
    if "blocked" in low:
        return _("бот заблокирован клиентом")
    if "chat not found" in low or "user is deactivated" in low:
        return _("чат клиента недоступен")
    if "no phone" in low:
        return _("нет телефона для SMS")
    if low == "no telegram chat":
        return _("нет Telegram")
    text = text.removeprefix("Forbidden: ").removeprefix("Bad Request: ")
    clipped = text[:REASON_SHOWN] + ("…" if len(text) > REASON_SHOWN else "")
    return h(clipped) or _("неизвестная ошибка")


def _mark(state: DeliveryStatus) -> str:
    if state.outcome == "telegram":
        return "✓ Telegram"
    if state.outcome == "sms":
        if state.telegram_error:
            return f"✓ SMS ({reason_text(state.telegram_error)})"
        return "✓ SMS (" + _("нет Telegram") + ")" if state.no_chat else "✓ SMS"
    if state.outcome == "failed":
        return "✗ " + reason_text(state.error)
    if state.error:
        return "⏳ " + _("повтор: {reason}").format(reason=reason_text(state.error))
    return "⏳ " + _("в очереди")


def delivery_line(state: DeliveryStatus, lang: str, tz: ZoneInfo) -> str:
    when = format_datetime((state.sent_at or state.created_at).astimezone(tz), "dd.MM HH:mm",
                           locale=BABEL_LOCALES.get(lang, "ru_RU"))
    return f"  {_mark(state)} · {kind_label(state.kind)} · {when}"


async def card_part(session: DbSession, ticket: Ticket, lang: str, tz: ZoneInfo
                    ) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """The card's client-message lines and buttons, from one read of the ticket's messages."""
    states = [s for s in await delivery_state(session, ticket.id) if s.kind != STAFF_KIND]
    lines = [_("📨 Сообщения клиенту:"),
             *(delivery_line(s, lang, tz) for s in states[:CARD_MESSAGES])] if states else []
    # The latest message that failed for good (states are newest first; ids grow).
    failed = max((s.outbox_id for s in states if s.outcome == "failed"), default=None)
    return lines, await _rows(session, ticket, failed, lang)


async def _rows(session: DbSession, ticket: Ticket, failed: int | None, lang: str
                ) -> list[list[InlineKeyboardButton]]:
    first: list[InlineKeyboardButton] = []
    if not ticket.status.kind.is_closed:
        ready = [s for s in await allowed_targets(session, ticket.status_id)
                 if s.kind == StatusKind.READY]
        if ready:
            first.append(button(f"✅ {ready[0].title(lang)}",
                                NotifyCb(action=NotifyAction.READY, id=ticket.id,
                                         arg=ready[0].id)))
    first.append(button(_("📱 Для клиента"), NotifyCb(action=NotifyAction.QR, id=ticket.id)))
    rows = [first]
    if failed is not None:
        rows.append([button(_("🔁 Повторить отправку"),
                            NotifyCb(action=NotifyAction.RETRY, id=ticket.id, arg=failed))])
    return rows
