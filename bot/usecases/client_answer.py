"""A client's answer to an estimate ("Согласовать" / "Отказаться"): the ticket moves (as the
client), and the staff member the policy names is told through the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.notices import NoticeTexts
from db.desk.models import Ticket
from db.desk.tickets import get_ticket
from db.errors import DomainError
from db.notify.client_links import answer_estimate
from db.notify.outbox import enqueue
from db.notify.policy import STAFF_KIND, answer_recipient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EstimateAnswered:
    ticket: Ticket
    approved: bool
    staff_told: bool


async def answer(session: AsyncSession, client_id: int | None, ticket_id: int, event: int, *,
                 approve: bool, texts: NoticeTexts) -> EstimateAnswered:
    """Raises NotFound (not this client's ticket: `ticket_id` in params; or the target status is
    missing), EstimateStale (no longer this approval round) and the status change's errors."""
    change = await answer_estimate(session, client_id, ticket_id, event, approve=approve)
    ticket = await get_ticket(session, ticket_id)
    person = await answer_recipient(session, ticket, event)
    if person is None:
        log.warning("ticket %s: nobody to tell about the client's answer", ticket.id)
        return EstimateAnswered(ticket, approve, staff_told=False)
    notice = await texts.answer_to_staff(ticket, approve, person)
    try:
        await enqueue(session, kind=STAFF_KIND, text=notice.text, chat_id=person.tg_user_id,
                      ticket_id=ticket.id, dedup_key=f"{STAFF_KIND}:t{ticket.id}:{change.id}",
                      buttons=notice.buttons)
    except DomainError:
        log.exception("ticket %s: the master's message not enqueued", ticket.id)
        return EstimateAnswered(ticket, approve, staff_told=False)
    return EstimateAnswered(ticket, approve, staff_told=True)
