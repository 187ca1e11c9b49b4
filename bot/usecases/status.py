"""Changing a ticket's status, and what it triggers for the client (db.notify.policy)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.notices import NoticeTexts, queue_estimate, queue_status
from db.desk import tickets
from db.desk.models import Staff, Ticket
from db.notify.policy import FollowUp, after_status


@dataclass(frozen=True)
class StatusChanged:
    ticket: Ticket
    follow_up: FollowUp  # what the policy asked for
    queued: bool  # a client message was queued (ESTIMATE, STATUS)

    @property
    def ask_ready(self) -> bool:
        """Show the staff member the "notify the client?" prompt."""
        return self.follow_up is FollowUp.ASK_READY


async def change_status(session: AsyncSession, actor: Staff, ticket_id: int, status_id: int,
                        texts: NoticeTexts) -> StatusChanged:
    """Move the ticket along an allowed transition (guarded in db.desk.tickets) and queue what
    the notification policy says, in the same transaction."""
    await tickets.change_status(session, actor, ticket_id, status_id)
    return await status_follow_up(session, await tickets.get_ticket(session, ticket_id), texts)


async def status_follow_up(session: AsyncSession, ticket: Ticket,
                           texts: NoticeTexts) -> StatusChanged:
    """The policy's follow-up of the ticket's latest status change (also after closing)."""
    follow_up = await after_status(session, ticket)
    queued = False
    if follow_up is FollowUp.ESTIMATE:
        queued = await queue_estimate(session, ticket, texts)
    elif follow_up is FollowUp.STATUS:
        queued = await queue_status(session, ticket, texts)
    return StatusChanged(ticket=ticket, follow_up=follow_up, queued=queued)
