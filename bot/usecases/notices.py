"""Queuing client messages for ticket events. The wording comes from a `NoticeTexts` the caller
passes (bot.views.client_notices renders it in the client's language); which event sends what
is the domain's policy (db.notify.policy). A notification problem never breaks the staff
action that caused it: it is logged and skipped."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Staff, Status, Ticket
from db.errors import DomainError
from db.money.closing import amount_due
from db.notify.client_links import entered_change_id
from db.notify.models import MessageKind
from db.notify.outbox import Notice, enqueue_for_ticket

log = logging.getLogger(__name__)


class NoticeTexts(Protocol):
    """The wording of client messages, in each client's language."""

    async def intake(self, ticket: Ticket) -> Notice: ...

    async def status(self, ticket: Ticket, status: Status) -> Notice: ...

    async def estimate(self, ticket: Ticket, due: int, event: int) -> Notice: ...

    async def answer_to_staff(self, ticket: Ticket, approved: bool, person: Staff) -> Notice:
        """The client's answer to an estimate, told to a staff member in their language."""
        ...


async def queue(session: AsyncSession, ticket: Ticket, kind: MessageKind, notice: Notice,
                event: object) -> bool:
    """Enqueue in the caller's transaction (deduplicated by `event`). False when the owner's
    switch is off or the message cannot be queued (logged)."""
    try:
        message = await enqueue_for_ticket(session, ticket.id, kind=kind, text=notice.text,
                                           sms_text=notice.sms, buttons=notice.buttons,
                                           event=event)
    except DomainError:
        log.exception("ticket %s: %s notification not enqueued", ticket.id, kind)
        return False
    return message is not None


async def queue_intake(session: AsyncSession, ticket: Ticket, texts: NoticeTexts) -> bool:
    return await queue(session, ticket, MessageKind.INTAKE, await texts.intake(ticket), "open")


async def queue_status(session: AsyncSession, ticket: Ticket, texts: NoticeTexts) -> bool:
    event = await entered_change_id(session, ticket)
    notice = await texts.status(ticket, ticket.status)
    return await queue(session, ticket, MessageKind.STATUS, notice, event)


async def queue_estimate(session: AsyncSession, ticket: Ticket, texts: NoticeTexts) -> bool:
    """The estimate with Approve / Decline, bound to the status change that opened it."""
    event = await entered_change_id(session, ticket)
    if event is None:
        return False
    due = await amount_due(session, ticket.id)
    return await queue(session, ticket, MessageKind.ESTIMATE,
                       await texts.estimate(ticket, due, event), event)
