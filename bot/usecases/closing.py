"""Closing a ticket ("Закрыть обращение"): the master's commission is stamped and the ticket
moves to its DONE status (db.money.closing), then the notification policy's follow-up of that
status change is queued, as for any status change (bot.usecases.status)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.notices import NoticeTexts
from bot.usecases.status import StatusChanged, status_follow_up
from db.desk.models import Staff, Ticket
from db.desk.tickets import get_ticket
from db.money import closing
from db.money.closing import ClosingSummary


@dataclass(frozen=True)
class Closed:
    ticket: Ticket  # in its new status
    stamped: ClosingSummary  # money and commission as recorded
    follow_up: StatusChanged


async def close_ticket(session: AsyncSession, actor: Staff, ticket_id: int, *,
                       confirmed_debt: int, texts: NoticeTexts) -> Closed:
    """`confirmed_debt`: the unpaid total the person saw and confirmed (0 = none); a different
    one now raises UnpaidChanged and nothing is closed."""
    stamped = await closing.close_ticket(session, actor, ticket_id,
                                         expected_unpaid=confirmed_debt)
    ticket = await get_ticket(session, ticket_id)
    return Closed(ticket=ticket, stamped=stamped,
                  follow_up=await status_follow_up(session, ticket, texts))
