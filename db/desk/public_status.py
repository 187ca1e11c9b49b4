"""What a client without Telegram may see of a ticket, by its unguessable public token."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.desk.models import Ticket
from db.desk.tickets import get_ticket_by_token

TOKEN_MAX = 32
# A closed ticket's page stays this long after closing (the client checks the receipt, the
# warranty); after that the link shows nothing, like a wrong one.
SHOWN_AFTER_CLOSE = timedelta(days=30)


async def ticket_for_public(session: AsyncSession, token: str,
                            now: datetime | None = None) -> Ticket | None:
    """The ticket behind a status link, or None when the token is wrong or expired."""
    if not token or len(token) > TOKEN_MAX or not token.replace("-", "").replace("_", "").isalnum():
        return None
    ticket = await get_ticket_by_token(session, token)
    if ticket is None:
        return None
    if ticket.closed_at is not None and ticket.closed_at < (now or utcnow()) - SHOWN_AFTER_CLOSE:
        return None
    return ticket
