"""Linking a client's Telegram chat: by a shared contact, or by a ticket's deep-link token.

Rules:
* A contact counts only when it is the sender's own (`contact.user_id == from_user.id`);
  Telegram vouches for that phone. A forwarded or typed contact is refused (ForeignContact).
* The phone (E.164) is matched to the main phone first, then to an extra phone (several
  clients sharing one extra phone: the one with the most recent ticket). No match → a new
  client marked `self_registered`, named from the contact.
* The chat follows the latest verified phone: a chat linked to another client is moved (that
  client keeps its phone and simply loses the chat), and a client who shares the contact from a
  new Telegram account gets the new chat. Both moves are audited.
* A deep-link token (`Ticket.public_token`) plus a contact links the chat only when the
  contact's phone is that ticket's client's (main or extra); otherwise PhoneMismatch and
  nothing changes. The token alone links nobody (it only shows the ticket's public status).
* A client sees only their own tickets (`client_ticket`), and the estimate buttons only while
  the ticket waits for their answer (`awaited_answer`).
* A client answers an estimate (`answer_estimate`) only for their own ticket, only while it
  is still in the approval round the question was asked in (`event`: the status change that
  opened it); approving moves it to APPROVE_TO, declining to DECLINE_TO, as the client.
* A client's language is the one they chose (`choose_language`, the 🌐 button in their chat),
  else the shop's CLIENT_LANGUAGE; linking never changes a chosen one, so a conversation does
  not switch languages half-way (the language given to linking is stored only when none is).
* When Telegram says a chat is gone (403 blocked, "chat not found"), the worker unlinks it
  (`mark_chat_unreachable`) so later messages go by SMS at once; `restore_chat` relinks it when
  the same chat talks to the bot again (/start after unblocking), without a new contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.audit import audit
from db.base import utcnow
from db.desk.clients import create_client
from db.desk.models import Client, Status, StatusChange, Ticket
from db.desk.phones import parse_phone
from db.desk.tickets import change_status, get_ticket
from db.errors import DuplicateClient, NotFound
from db.notify.errors import EstimateStale, ForeignContact, PhoneMismatch, TokenInvalid
from db.notify.models import UnreachableChat
from db.notify.templates import LANGUAGES

APPROVAL = "approval"  # status code: waiting for the client's answer to the estimate
APPROVE_TO = "in_work"  # where "Согласовать" moves the ticket
DECLINE_TO = "refused"  # where "Отказаться" moves it


@dataclass(frozen=True)
class SharedContact:
    """A contact shared in a chat, as Telegram gave it."""

    tg_user_id: int  # who sent it
    chat_id: int
    contact_user_id: int | None  # whose contact it is (None: typed into an address book)
    phone_text: str
    first_name: str = ""
    last_name: str = ""
    language: str | None = None  # the sender's Telegram language_code


@dataclass(frozen=True)
class LinkResult:
    client: Client
    created: bool  # a new self-registered client
    matched_by: str  # "phone" | "extra_phone" | "new" | "ticket"
    moved_from_client_id: int | None = None  # the chat was linked to this other client


def _check_contact(tg_user_id: int, contact_user_id: int | None) -> None:
    if contact_user_id is None or contact_user_id != tg_user_id:
        raise ForeignContact(tg_user_id, contact_user_id)


def _language(language: str | None) -> str | None:
    code = (language or "").split("-")[0].lower()
    return code if code in LANGUAGES else None


async def client_for_chat(session: AsyncSession, chat_id: int) -> Client | None:
    return await session.scalar(select(Client).where(Client.tg_chat_id == chat_id))


async def _match_phone(session: AsyncSession, e164: str) -> tuple[Client | None, str]:
    main = await session.scalar(select(Client).where(Client.phone == e164))
    if main is not None:
        return main, "phone"
    last_ticket = (
        select(func.max(Ticket.created_at)).where(Ticket.client_id == Client.id)
        .correlate(Client).scalar_subquery()
    )
    extra = await session.scalar(
        select(Client).where(Client.extra_phone == e164)
        .order_by(last_ticket.desc().nulls_last(), Client.id.desc()).limit(1)
    )
    return extra, ("extra_phone" if extra is not None else "new")


async def _attach(
    session: AsyncSession, client: Client, chat_id: int, language: str | None, via: str,
) -> int | None:
    """Point `chat_id` at `client`, moving it off whoever had it. Returns that client's id."""
    moved_from: int | None = None
    holder = await client_for_chat(session, chat_id)
    if holder is not None and holder.id != client.id:
        holder.tg_chat_id = None
        await session.flush()  # the unique chat id must be free before it is reused
        moved_from = holder.id
        audit(session, None, "client.chat_moved", "client", holder.id, chat_id=chat_id,
              to_client_id=client.id)
    if client.tg_chat_id != chat_id:
        audit(session, None, "client.chat_linked", "client", client.id, chat_id=chat_id,
              previous_chat_id=client.tg_chat_id, via=via)
        client.tg_chat_id = chat_id
    if language and client.language is None:  # a language already chosen is kept
        client.language = language
    gone = await session.get(UnreachableChat, chat_id)
    if gone is not None:
        await session.delete(gone)
    await session.flush()
    return moved_from


async def link_by_contact(
    session: AsyncSession,
    *,
    tg_user_id: int,
    chat_id: int,
    contact_user_id: int | None,
    phone_text: str,
    first_name: str = "",
    last_name: str = "",
    language: str | None = None,
    region: str = "UA",
) -> LinkResult:
    """Link the chat of a client who shared their own contact. `language` is Telegram's
    language_code; only ru/uk are stored (others leave the client's language as it is).
    Raises ForeignContact, InvalidPhone."""
    _check_contact(tg_user_id, contact_user_id)
    e164 = parse_phone(phone_text, region)
    client, matched_by = await _match_phone(session, e164)
    created = False
    if client is None:
        try:
            client = await create_client(
                session, None, phone=e164, name=(first_name or "")[:128],
                surname=(last_name or "")[:128], region=region, self_registered=True,
            )
            created = True
        except DuplicateClient as exc:  # created by staff a moment ago
            client = await session.get(Client, exc.client_id)
            matched_by = "phone"
            if client is None:
                raise
    moved = await _attach(session, client, chat_id, _language(language), "contact")
    return LinkResult(client, created, matched_by, moved)


async def link_by_ticket_token(
    session: AsyncSession,
    *,
    token: str,
    tg_user_id: int,
    chat_id: int,
    contact_user_id: int | None,
    phone_text: str,
    language: str | None = None,
    region: str = "UA",
) -> LinkResult:
    """Link the chat to the client of the ticket behind a deep-link token, only when the
    shared (own) contact's phone is that client's. Raises ForeignContact, TokenInvalid,
    InvalidPhone, PhoneMismatch."""
    _check_contact(tg_user_id, contact_user_id)
    ticket = await session.scalar(select(Ticket).where(Ticket.public_token == token))
    if ticket is None:
        raise TokenInvalid("unknown token")
    e164 = parse_phone(phone_text, region)
    client = await session.get(Client, ticket.client_id)
    assert client is not None  # FK
    if e164 not in (client.phone, client.extra_phone):
        raise PhoneMismatch(ticket.number)
    moved = await _attach(session, client, chat_id, _language(language), "ticket")
    return LinkResult(client, False, "ticket", moved)


async def link_shared_contact(
    session: AsyncSession, contact: SharedContact, *, token: str | None, region: str = "UA",
) -> LinkResult:
    """Link the chat by a shared contact: to the ticket's client when the chat came from that
    ticket's status link (`token`), else to whoever has the phone. Raises what
    `link_by_ticket_token` and `link_by_contact` raise."""
    if token:
        return await link_by_ticket_token(
            session, token=token, tg_user_id=contact.tg_user_id, chat_id=contact.chat_id,
            contact_user_id=contact.contact_user_id, phone_text=contact.phone_text,
            language=contact.language, region=region)
    return await link_by_contact(
        session, tg_user_id=contact.tg_user_id, chat_id=contact.chat_id,
        contact_user_id=contact.contact_user_id, phone_text=contact.phone_text,
        first_name=contact.first_name, last_name=contact.last_name, language=contact.language,
        region=region)


async def choose_language(session: AsyncSession, client: Client, language: str) -> bool:
    """The client's own choice of language (ru/uk) for everything the shop sends them.
    False (nothing stored) for a language the shop does not write in."""
    code = _language(language)
    if code is None:
        return False
    if client.language != code:
        audit(session, None, "client.language", "client", client.id, language=code,
              previous=client.language)
        client.language = code
        await session.flush()
    return True


async def mark_chat_unreachable(
    session: AsyncSession, chat_id: int, reason: str, now: datetime | None = None,
) -> int | None:
    """Unlink a chat Telegram refuses (blocked, deleted). Returns the client id it had."""
    client = await client_for_chat(session, chat_id)
    if client is None:
        return None
    client.tg_chat_id = None
    gone = await session.get(UnreachableChat, chat_id)
    if gone is None:
        session.add(UnreachableChat(chat_id=chat_id, client_id=client.id, reason=reason[:500],
                                    created_at=now or utcnow()))
    else:
        gone.client_id, gone.reason = client.id, reason[:500]
    audit(session, None, "client.chat_unreachable", "client", client.id, chat_id=chat_id,
          reason=reason[:200])
    await session.flush()
    return client.id


async def restore_chat(session: AsyncSession, chat_id: int) -> Client | None:
    """Relink a chat unlinked by `mark_chat_unreachable` when it writes to the bot again (the
    same Telegram account, so no contact is needed). None if there is nothing to restore or
    the client has linked another chat since."""
    gone = await session.get(UnreachableChat, chat_id)
    if gone is None:
        return None
    client = await session.get(Client, gone.client_id)
    await session.delete(gone)
    if client is None or client.tg_chat_id is not None or await client_for_chat(session, chat_id):
        await session.flush()
        return None
    client.tg_chat_id = chat_id
    audit(session, None, "client.chat_linked", "client", client.id, chat_id=chat_id,
          via="restore")
    await session.flush()
    return client


async def client_ticket(session: AsyncSession, client_id: int | None, ticket_id: int) -> Ticket:
    """The ticket, when it is this client's; NotFound (`ticket_id` in params) otherwise, the
    same for someone else's ticket as for none, so ids reveal nothing."""
    owner = await session.scalar(select(Ticket.client_id).where(Ticket.id == ticket_id))
    if client_id is None or owner != client_id:
        raise NotFound("ticket", ticket_id=ticket_id)
    return await get_ticket(session, ticket_id)


async def entered_change_id(session: AsyncSession, ticket: Ticket) -> int | None:
    """The status change that put the ticket into its current status."""
    return await session.scalar(
        select(StatusChange.id).where(StatusChange.ticket_id == ticket.id,
                                      StatusChange.to_status_id == ticket.status_id)
        .order_by(StatusChange.id.desc()).limit(1)
    )


async def awaited_answer(session: AsyncSession, ticket: Ticket) -> int | None:
    """The approval round (`event` of `answer_estimate`) the ticket waits for its client's
    answer in; None when it is not waiting for one."""
    if ticket.status.code != APPROVAL:
        return None
    return await entered_change_id(session, ticket)


async def answer_estimate(
    session: AsyncSession, client_id: int | None, ticket_id: int, event: int, *, approve: bool,
) -> StatusChange:
    """The client's "Согласовать" / "Отказаться". Raises NotFound (not this client's ticket;
    `ticket_id` in params), EstimateStale (no longer this approval round), NotFound with
    `status_code` (the target status is missing or inactive), and change_status's errors."""
    # Lock the ticket first: a staff member moving it at the same moment waits for us (or we
    # for them) and the "still in this approval" check below stays true.
    locked = await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update()
        .execution_options(populate_existing=True))
    if client_id is None or locked is None or locked.client_id != client_id:
        raise NotFound("ticket", ticket_id=ticket_id)
    ticket = await get_ticket(session, locked.id)
    if ticket.status.code != APPROVAL or await entered_change_id(session, ticket) != event:
        raise EstimateStale(ticket.id)
    code = APPROVE_TO if approve else DECLINE_TO
    target = await session.scalar(
        select(Status).where(Status.code == code, Status.active.is_(True)))
    if target is None:
        raise NotFound("status", status_code=code)
    return await change_status(session, None, ticket.id, target.id, by_client=True)
