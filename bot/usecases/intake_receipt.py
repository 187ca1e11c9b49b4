"""The intake receipt ("квитанція про прийом"): what goes on it, and handing it to the client's
chat. The PDF itself is drawn by bot/views/intake_receipt.py; the handler sends it to the staff
member first (Telegram gives back its file_id) and then queues that same file for the client.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Staff, Ticket
from db.desk.receipt_terms import get_terms
from db.desk.tickets import get_ticket
from db.errors import DomainError
from db.notify.models import MediaKind, MessageKind
from db.notify.outbox import by_dedup_key, enqueue_for_ticket, ticket_dedup_key
from db.notify.templates import client_language

log = logging.getLogger(__name__)
EVENT = "pdf"  # one receipt per ticket goes to the client (the dedup key's event)


@dataclass(frozen=True)
class IntakeReceiptFacts:
    ticket: Ticket  # with device, client and status loaded
    language: str  # the client's: the receipt is their paper
    terms: str | None  # the owner's terms in that language; None: the default
    accepted_by: str  # who accepted the device ("" when unknown)


async def receipt_facts(session: AsyncSession, ticket_id: int,
                        default_language: str) -> IntakeReceiptFacts:
    """Raises NotFound (no such ticket)."""
    ticket = await get_ticket(session, ticket_id)
    language = client_language(ticket.client.language, default_language)
    accepted = await session.get(Staff, ticket.accepted_by_id) if ticket.accepted_by_id else None
    return IntakeReceiptFacts(ticket, language, await get_terms(session, language),
                              accepted.name if accepted is not None else "")


class ClientCopy(enum.StrEnum):
    QUEUED = "queued"
    NO_CHAT = "no_chat"  # the client has no linked chat (a PDF never goes by SMS)
    ALREADY = "already"  # queued before (one copy per ticket)
    FAILED = "failed"  # could not be queued (logged)


async def queue_for_client(session: AsyncSession, ticket: Ticket, file_id: str,
                           caption: str) -> ClientCopy:
    """Queue the receipt (a document already uploaded to Telegram: `file_id`) for the
    client's chat, once per ticket. The policy keeps this kind off SMS (db.notify.policy)."""
    if ticket.client.tg_chat_id is None:
        return ClientCopy.NO_CHAT
    if await by_dedup_key(session, ticket_dedup_key(MessageKind.INTAKE_DOC, ticket.id, EVENT)):
        return ClientCopy.ALREADY
    try:
        await enqueue_for_ticket(
            session, ticket.id, kind=MessageKind.INTAKE_DOC, text=caption, event=EVENT,
            media_kind=MediaKind.DOCUMENT, media_ref=file_id, respect_switch=False)
    except DomainError:
        log.exception("ticket %s: intake receipt not queued", ticket.id)
        return ClientCopy.FAILED
    return ClientCopy.QUEUED
