"""Which message a ticket event sends, and to whom: the notification policy, in one place.

* intake → the client's confirmation (when the owner's switch is on);
* a READY status → the staff member is asked whether to notify (the templates prompt), never an
  automatic message: "можно забирать" is a deliberate tap;
* the approval status → the estimate with Approve / Decline;
* other statuses the client cares about (in progress, waiting, refused) → a short update, only
  to clients with a linked chat (free; an SMS per status move would cost the shop money);
* by SMS (no chat, or the client blocked the bot): the intake confirmation, "можно забирать",
  the estimate and reminders always (they pay off: the client comes, approves, pays); a plain
  status update only when the owner switched `notify.status_sms` on (`sms_allowed`), else it
  fails with `SMS_OFF_REASON` and no money is spent; the intake receipt PDF never (a document);
* a client's answer to an estimate → the ticket's master, else whoever asked for the approval.
"""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Staff, StatusChange, StatusKind, Ticket
from db.notify.client_links import APPROVAL
from db.notify.models import MessageKind
from db.notify.settings import get_notify_settings, notification_enabled

STAFF_KIND = "staff"  # outbox messages to staff (e.g. "the client approved"), not to clients
STATUS_KINDS = (StatusKind.IN_PROGRESS, StatusKind.WAITING, StatusKind.REFUSED)
# The outbox's last_error of a status update Telegram could not deliver, SMS being off for it.
SMS_OFF_REASON = "status updates are not sent by SMS (owner's setting)"
TELEGRAM_ONLY_REASON = "a document goes to Telegram only"


class FollowUp(enum.StrEnum):
    NONE = "none"
    ASK_READY = "ask_ready"  # show staff the "notify the client?" prompt
    ESTIMATE = "estimate"  # queue the estimate for the client's approval
    STATUS = "status"  # queue a short status update to the client's chat


async def after_status(session: AsyncSession, ticket: Ticket) -> FollowUp:
    """What follows the ticket's move into its current status."""
    status = ticket.status
    if status.kind == StatusKind.READY:
        return await _if_enabled(session, MessageKind.READY, FollowUp.ASK_READY)
    if status.code == APPROVAL:
        return await _if_enabled(session, MessageKind.ESTIMATE, FollowUp.ESTIMATE)
    if status.kind in STATUS_KINDS and (ticket.client.tg_chat_id is not None
                                        or await sms_allowed(session, MessageKind.STATUS)):
        return await _if_enabled(session, MessageKind.STATUS, FollowUp.STATUS)
    return FollowUp.NONE


async def no_sms_reason(session: AsyncSession, kind: str) -> str | None:
    """Why a message of `kind` may not go as a paid SMS when Telegram cannot take it; None
    when it may."""
    if kind == MessageKind.INTAKE_DOC:
        return TELEGRAM_ONLY_REASON  # the intake SMS already carried the status link
    if kind == MessageKind.STATUS and not (await get_notify_settings(session)).status_sms:
        return SMS_OFF_REASON
    return None


async def sms_allowed(session: AsyncSession, kind: str) -> bool:
    return await no_sms_reason(session, kind) is None


async def after_intake(session: AsyncSession) -> bool:
    """Whether a new ticket sends the client its confirmation."""
    return await notification_enabled(session, MessageKind.INTAKE)


async def _if_enabled(session: AsyncSession, kind: MessageKind, follow_up: FollowUp) -> FollowUp:
    return follow_up if await notification_enabled(session, kind) else FollowUp.NONE


async def answer_recipient(session: AsyncSession, ticket: Ticket, event: int) -> Staff | None:
    """Who hears a client's answer to an estimate: the ticket's active master, else the active
    staff member who moved it into the approval (`event`, that status change)."""
    if ticket.master is not None and ticket.master.active:
        return ticket.master
    asked_by = await session.scalar(select(StatusChange.staff_id).where(StatusChange.id == event))
    person = await session.get(Staff, asked_by) if asked_by else None
    return person if person is not None and person.active else None
