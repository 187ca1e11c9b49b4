"""Queuing client messages for ticket events. The wording comes from a `NoticeTexts` the caller
passes (bot.views.client_notices renders it in the client's language); which event sends what
is the domain's policy (db.notify.policy). A notification problem never breaks the staff
action that caused it: it is logged and skipped."""

from __future__ import annotations

import enum
import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Staff, Status, StatusKind, Ticket
from db.desk.tickets import get_ticket
from db.errors import DomainError, NotFound
from db.money.closing import amount_due
from db.notify.client_links import entered_change_id
from db.notify.models import MessageKind, MessageTemplate
from db.notify.outbox import Notice, by_dedup_key, enqueue_for_ticket, ticket_dedup_key
from db.notify.templates import get_template

log = logging.getLogger(__name__)


class NoticeTexts(Protocol):
    """The wording of client messages, in each client's language."""

    async def intake(self, ticket: Ticket) -> Notice: ...

    async def status(self, ticket: Ticket, status: Status) -> Notice: ...

    async def estimate(self, ticket: Ticket, due: int, event: int) -> Notice: ...

    async def ready(self, ticket: Ticket, template: MessageTemplate, due: int) -> Notice:
        """A "можно забирать" template filled in for the ticket."""
        ...

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


class ReadySent(enum.StrEnum):
    QUEUED = "queued"
    NOT_READY = "not_ready"  # the ticket moved on since the prompt was shown
    NO_TEMPLATE = "no_template"  # deleted, or not a "можно забирать" one
    ALREADY_SENT = "already_sent"  # this stay in READY has had its message


async def queue_ready(session: AsyncSession, ticket_id: int, template_id: int,
                      texts: NoticeTexts) -> ReadySent:
    """A staff member's tap on a template of the "notify?" prompt: one message per stay in the
    READY status. Raises NotFound (no such ticket) and the outbox's errors."""
    ticket = await get_ticket(session, ticket_id)
    if ticket.status.kind != StatusKind.READY:
        return ReadySent.NOT_READY
    try:
        template = await get_template(session, template_id)
    except NotFound:
        return ReadySent.NO_TEMPLATE
    if template.kind != MessageKind.READY:
        return ReadySent.NO_TEMPLATE
    event = await entered_change_id(session, ticket)
    key = ticket_dedup_key(MessageKind.READY, ticket.id, event)
    if event is None or await by_dedup_key(session, key) is not None:
        return ReadySent.ALREADY_SENT
    notice = await texts.ready(ticket, template, await amount_due(session, ticket.id))
    # The staff member chose to send: deliberate, so the owner's switch (which hides the
    # prompt) does not stop a tap on a prompt shown before it was switched off.
    await enqueue_for_ticket(session, ticket.id, kind=MessageKind.READY, text=notice.text,
                             event=event, buttons=notice.buttons, respect_switch=False)
    return ReadySent.QUEUED
