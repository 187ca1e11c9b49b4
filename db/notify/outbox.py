"""The notification outbox: enqueue in the caller's transaction, claim safely, settle, report.

Life of a message: pending → sending (claimed by one worker, with a lease) → sent | failed,
or back to pending with a later `next_attempt_at` (retry, 429). Every attempt is a row in
`delivery_attempts`.

Never sent twice:
* `enqueue` with a `dedup_key` writes one row per key, however often the event fires.
* Claiming is a conditional UPDATE (state = pending and due) of rows first selected
  `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs every transaction as BEGIN IMMEDIATE, so
  claims are serialized. Either way one message belongs to one worker at a time.
* Settling (sent/failed/rescheduled) is conditional on the worker still holding the lease.

Crash rule: a message left in `sending` (worker killed, connection lost) is claimable again
once `lease_until` has passed. The lease is short (45 s by default) and a live worker renews
it with a heartbeat (`renew_leases`, every 10 s) while it holds messages, so a dead worker's
messages are taken over within a minute. A live worker never loses a lease mid-send: it
starts a send only while more than the send timeout (+ margin) of its lease, as last
confirmed by the database, is left, else it puts the message back; a renewal that finds the
message no longer its own ends its hold. The reclaim records an "interrupted" attempt. The
one duplicate this can cause is a crash in the few milliseconds between Telegram (or the SMS
gateway) accepting the message and the commit that marks it sent: the Bot API has no
idempotency key, and losing a "ready" message is worse than repeating it once.

Recipients: a message for a client (`client_id`) goes to the client's chat and phone as they
are *when it is sent*, so a chat linked or blocked meanwhile is respected; `chat_id`/`phone`
on the row record where it went. A message without a client (e.g. to a master) goes to the
`chat_id`/`phone` given.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db import signals
from db.base import rowcount, upsert_insert, utcnow
from db.desk.models import Client, Status, StatusChange, StatusKind, Ticket
from db.errors import NotFound
from db.notify.errors import InvalidMessage, NoRecipient
from db.notify.models import (
    Channel,
    DeliveryAttempt,
    MediaKind,
    MessageKind,
    OutboxMessage,
    OutboxState,
)
from db.notify.settings import notification_enabled

Button = dict[str, str]
Buttons = list[list[Button]]


@dataclass(frozen=True)
class Notice:
    """A message to queue: Telegram text, the SMS wording (None: derived from the text),
    buttons in the outbox's form."""

    text: str
    sms: str | None = None
    buttons: Buttons | None = None

TEXT_MAX = 4096  # Telegram message
CAPTION_MAX = 1024  # Telegram photo/document caption
CALLBACK_DATA_MAX = 64  # bytes
DEDUP_KEY_MAX = 160
INTERRUPTED = "interrupted: the worker stopped before recording the result"


# -- enqueue --------------------------------------------------------------------------------

def _check_buttons(buttons: Buttons | None) -> Buttons | None:
    if not buttons:
        return None
    if not isinstance(buttons, list) or not all(isinstance(r, list) and r for r in buttons):
        raise InvalidMessage("bad_button", detail="rows must be non-empty lists")
    clean: Buttons = []
    for row in buttons:
        out_row: list[Button] = []
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise InvalidMessage("bad_button", detail="each button needs text")
            targets = [k for k in ("callback_data", "url") if button.get(k)]
            if len(targets) != 1 or set(button) - {"text", "callback_data", "url"}:
                raise InvalidMessage("bad_button", detail="exactly one of callback_data or url")
            key = targets[0]
            value = str(button[key])
            if key == "callback_data" and len(value.encode()) > CALLBACK_DATA_MAX:
                raise InvalidMessage("callback_data_too_long", value=value)
            if key == "url" and not value.startswith(("https://", "http://", "tg://")):
                raise InvalidMessage("bad_button", detail="url must be http(s):// or tg://")
            out_row.append({"text": str(button["text"]), key: value})
        clean.append(out_row)
    return clean


def _check_message(text: str, media_kind: MediaKind | None, media_ref: str | None,
                   parse_mode: str | None, dedup_key: str | None) -> str:
    """The text to store (trimmed), or InvalidMessage naming what is wrong."""
    text = (text or "").strip()
    limit = CAPTION_MAX if media_kind else TEXT_MAX
    if not text and not media_kind:
        raise InvalidMessage("empty_text")
    if len(text) > limit:
        raise InvalidMessage("caption_too_long" if media_kind else "text_too_long", limit=limit)
    if bool(media_kind) != bool(media_ref):
        raise InvalidMessage("bad_media")
    if parse_mode not in (None, "HTML"):
        raise InvalidMessage("bad_parse_mode", parse_mode=parse_mode)
    if dedup_key is not None and not 0 < len(dedup_key) <= DEDUP_KEY_MAX:
        raise InvalidMessage("bad_dedup_key")
    return text


async def _recipient(session: AsyncSession, client_id: int | None, ticket_id: int | None,
                     chat_id: int | None, phone: str | None) -> tuple[int | None, str | None]:
    """(chat, phone) to record on the row: the client's unless given. NoRecipient when
    there is neither."""
    if client_id is not None:
        client = await session.get(Client, client_id)
        if client is None:
            raise InvalidMessage("unknown_client", client_id=client_id)
        chat_id = chat_id if chat_id is not None else client.tg_chat_id
        phone = phone or client.phone
    if chat_id is None and not phone:
        raise NoRecipient("no chat and no phone", client_id=client_id, ticket_id=ticket_id)
    return chat_id, phone or None


async def enqueue(
    session: AsyncSession,
    *,
    kind: str | MessageKind,
    text: str,
    client_id: int | None = None,
    ticket_id: int | None = None,
    chat_id: int | None = None,
    phone: str | None = None,
    buttons: Buttons | None = None,
    media_kind: MediaKind | None = None,
    media_ref: str | None = None,
    parse_mode: str | None = None,
    sms_text: str | None = None,
    dedup_key: str | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the CALLER's transaction (flushes, never commits), so it
    exists exactly when the change that caused it does.

    Give `client_id` (chat and phone are the client's, resolved again at send time) or an
    explicit `chat_id` and/or `phone` (E.164). `buttons`: rows of {"text", "callback_data"}
    or {"text", "url"} (Telegram only; SMS gets the plain text). `media_kind`/`media_ref`:
    a photo or document (file_id or URL) with `text` as its caption. `parse_mode`: None (plain)
    or "HTML". `sms_text`: the SMS wording, else derived from `text`. `not_before`: deliver no
    earlier than this.

    `dedup_key`: the same key enqueued again returns the existing row unchanged (one event, one
    message). Raises NoRecipient, InvalidMessage.
    """
    now = now or utcnow()
    text = _check_message(text, media_kind, media_ref, parse_mode, dedup_key)
    clean_buttons = _check_buttons(buttons)

    if dedup_key is not None:
        existing = await by_dedup_key(session, dedup_key)
        if existing is not None:
            return existing

    chat_id, phone = await _recipient(session, client_id, ticket_id, chat_id, phone)
    values: dict[str, Any] = {
        "kind": str(kind), "ticket_id": ticket_id, "client_id": client_id, "text": text,
        "sms_text": (sms_text or "").strip() or None, "parse_mode": parse_mode,
        "buttons": clean_buttons, "media_kind": media_kind, "media_ref": media_ref,
        "chat_id": chat_id, "phone": phone, "state": OutboxState.PENDING,
        "attempts": 0, "retries": 0,
        "next_attempt_at": max(now, not_before) if not_before else now, "created_at": now,
        "dedup_key": dedup_key,
    }
    if dedup_key is None:
        message = OutboxMessage(**values)
        session.add(message)
        await session.flush()
    else:
        message = await _insert_once(session, values, dedup_key)
    signals.mark(session, signals.OUTBOX)
    return message


async def _insert_once(session: AsyncSession, values: dict[str, Any],
                       dedup_key: str) -> OutboxMessage:
    # INSERT ... ON CONFLICT DO NOTHING: a concurrent transaction enqueuing the same event
    # makes this a no-op instead of an error that would poison the caller's transaction.
    insert = upsert_insert(session)
    new_id = await session.scalar(
        insert(OutboxMessage).values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(OutboxMessage.id)
    )
    found = await (session.get(OutboxMessage, new_id) if new_id is not None
                   else by_dedup_key(session, dedup_key))
    assert found is not None
    return found


@dataclass(frozen=True)
class DueReminder:
    ticket_id: int
    client_id: int
    dedup_key: str


async def due_ready_reminders(
    session: AsyncSession, now: datetime, days: int, max_count: int
) -> list[DueReminder]:
    """Tickets waiting in a ready status for a full `days` period that have not had this
    period's reminder yet: one per period, at most `max_count` per stay in the ready status.
    The dedup key is (ticket, the status change that made it ready, period number), so a second
    run enqueues nothing new and going back to work and to ready again starts a new series."""
    period = timedelta(days=days)
    entered = (
        select(func.max(StatusChange.id))
        .where(StatusChange.ticket_id == Ticket.id, StatusChange.to_status_id == Ticket.status_id)
        .correlate(Ticket).scalar_subquery()
    )
    rows = (await session.execute(
        select(Ticket.id, Ticket.client_id, StatusChange.id, StatusChange.created_at)
        .join(Status, Status.id == Ticket.status_id)
        .join(StatusChange, StatusChange.id == entered)
        .where(Status.kind == StatusKind.READY, StatusChange.created_at <= now - period)
        .order_by(Ticket.id)
    )).all()
    candidates = []
    for ticket_id, client_id, change_id, ready_since in rows:
        number = int((now - ready_since) / period)
        if number <= max_count:
            key = ticket_dedup_key(MessageKind.REMINDER, ticket_id, f"{change_id}.{number}")
            candidates.append(DueReminder(ticket_id, client_id, key))
    if not candidates:
        return []
    sent = set(await session.scalars(select(OutboxMessage.dedup_key).where(
        OutboxMessage.dedup_key.in_([c.dedup_key for c in candidates]))))
    return [c for c in candidates if c.dedup_key not in sent]


async def by_dedup_key(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == key))


def ticket_dedup_key(kind: str, ticket_id: int, event: object) -> str:
    """Convention: `<kind>:t<ticket>:<event>`, the event being e.g. the StatusChange id, so
    one status change gives one message however many times the handler runs."""
    return f"{kind}:t{ticket_id}:{event}"


async def enqueue_for_ticket(
    session: AsyncSession,
    ticket_id: int,
    *,
    kind: str | MessageKind,
    text: str,
    event: object | None,
    buttons: Buttons | None = None,
    sms_text: str | None = None,
    media_kind: MediaKind | None = None,
    media_ref: str | None = None,
    respect_switch: bool = True,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Enqueue a message to a ticket's client, in the caller's transaction. `event` identifies
    what caused it (a StatusChange id, a receipt id, ...) and makes the dedup key; None means
    "no dedup" (an explicit "send again"). With `respect_switch`, returns None without
    enqueuing when the owner switched this kind off (notify_settings)."""
    if respect_switch and not await notification_enabled(session, str(kind)):
        return None
    client_id = await session.scalar(select(Ticket.client_id).where(Ticket.id == ticket_id))
    if client_id is None:
        raise InvalidMessage("unknown_ticket", ticket_id=ticket_id)
    key = ticket_dedup_key(str(kind), ticket_id, event) if event is not None else None
    return await enqueue(session, kind=kind, text=text, client_id=client_id, ticket_id=ticket_id,
                         buttons=buttons, sms_text=sms_text, media_kind=media_kind,
                         media_ref=media_ref, dedup_key=key, now=now)


# -- claim and settle (the worker's side) ---------------------------------------------------

@dataclass(frozen=True)
class OutboxItem:
    """A claimed message, detached from the session (the worker holds no transaction while
    talking to Telegram or the SMS gateway)."""

    id: int
    kind: str
    text: str
    sms_text: str | None
    parse_mode: str | None
    buttons: Buttons | None
    media_kind: MediaKind | None
    media_ref: str | None
    chat_id: int | None
    phone: str | None
    client_id: int | None
    ticket_id: int | None
    channel: Channel | None
    attempts: int
    retries: int
    last_error: str | None
    interrupted: bool  # reclaimed after an expired lease
    lease_until: datetime  # the worker must not start a send it cannot finish by then


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_until < now),
    )


async def claim_due(
    session: AsyncSession, *, worker_id: str, now: datetime, lease: timedelta, limit: int,
    exclude: Collection[int] = (),
) -> list[OutboxItem]:
    """Take up to `limit` due messages (oldest due first) for `worker_id` until now + lease.

    Run it in its own short transaction and commit before sending. Safe with any number of
    workers: rows are locked with SKIP LOCKED on PostgreSQL (ignored on SQLite, where the
    write lock serializes claims) and the UPDATE re-checks that each is still due.
    `exclude`: messages the caller still has in hand (never claim one of its own twice).
    """
    due = select(OutboxMessage.id, OutboxMessage.state).where(_due(now))
    if exclude:
        due = due.where(OutboxMessage.id.not_in(list(exclude)))
    picked = (await session.execute(
        due.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)
    )).all()
    if not picked:
        return []
    stale = {row.id for row in picked if row.state == OutboxState.SENDING}
    claimed = set((await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row.id for row in picked]), _due(now))
        .values(state=OutboxState.SENDING, lease_owner=worker_id, lease_until=now + lease)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )).all())
    if not claimed:
        return []
    rows = (await session.execute(
        select(OutboxMessage, Client.tg_chat_id, Client.phone)
        .outerjoin(Client, Client.id == OutboxMessage.client_id)
        .where(OutboxMessage.id.in_(claimed))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .execution_options(populate_existing=True)
    )).all()
    items: list[OutboxItem] = []
    for message, client_chat, client_phone in rows:
        if message.client_id is not None:
            # The client's current chat and phone (linked or blocked since enqueue).
            message.chat_id = client_chat
            message.phone = client_phone or message.phone
        interrupted = message.id in stale
        if interrupted:
            channel = message.channel or (Channel.TELEGRAM if message.chat_id else Channel.SMS)
            session.add(DeliveryAttempt(outbox_id=message.id, channel=channel, ok=False,
                                        error=INTERRUPTED, created_at=now))
            message.attempts += 1
        items.append(OutboxItem(
            id=message.id, kind=message.kind, text=message.text, sms_text=message.sms_text,
            parse_mode=message.parse_mode, buttons=message.buttons,
            media_kind=message.media_kind, media_ref=message.media_ref,
            chat_id=message.chat_id, phone=message.phone, client_id=message.client_id,
            ticket_id=message.ticket_id, channel=message.channel, attempts=message.attempts,
            retries=message.retries, last_error=message.last_error, interrupted=interrupted,
            lease_until=now + lease,
        ))
    await session.flush()
    return items


async def renew_leases(
    session: AsyncSession, *, worker_id: str, ids: Collection[int], until: datetime,
) -> set[int]:
    """The heartbeat: extend to `until` the leases `worker_id` still holds among `ids`;
    returns those renewed. A message missing from the answer is no longer this worker's
    (settled, or taken over after its lease ran out): the worker must not send it."""
    if not ids:
        return set()
    renewed = await session.scalars(
        update(OutboxMessage).where(
            OutboxMessage.id.in_(list(ids)), OutboxMessage.state == OutboxState.SENDING,
            OutboxMessage.lease_owner == worker_id,
        ).values(lease_until=until).returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(renewed.all())


def record_attempt(
    session: AsyncSession, outbox_id: int, *, channel: Channel, ok: bool,
    provider_message_id: str | None = None, error: str | None = None,
    now: datetime | None = None,
) -> None:
    session.add(DeliveryAttempt(outbox_id=outbox_id, channel=channel, ok=ok,
                                provider_message_id=provider_message_id,
                                error=(error or None) and error[:2000],
                                created_at=now or utcnow()))


async def settle(
    session: AsyncSession, outbox_id: int, *, worker_id: str, count_attempt: bool = True,
    **values: object,
) -> bool:
    """Update a message this worker holds (state, channel, next_attempt_at, last_error, ...).
    False when the lease was lost (expired and reclaimed): the caller must not assume it."""
    if "state" in values and values["state"] != OutboxState.SENDING:
        values.setdefault("lease_owner", None)
        values.setdefault("lease_until", None)
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    result = await session.execute(
        update(OutboxMessage).where(
            OutboxMessage.id == outbox_id, OutboxMessage.state == OutboxState.SENDING,
            OutboxMessage.lease_owner == worker_id,
        ).values(**values).execution_options(synchronize_session=False)
    )
    return bool(rowcount(result))


# -- staff and scheduler side --------------------------------------------------------------

async def retry_failed(session: AsyncSession, outbox_id: int, now: datetime | None = None) -> bool:
    """Put a failed message back in the queue from scratch (a staff "send again" tap)."""
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                    OutboxMessage.state == OutboxState.FAILED)
        .values(state=OutboxState.PENDING, channel=None, retries=0,
                next_attempt_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if not rowcount(result):
        return False
    signals.mark(session, signals.OUTBOX)
    return True


async def retry_ticket_message(session: AsyncSession, ticket_id: int, outbox_id: int) -> bool:
    """"🔁 Повторить" on a ticket's card: `retry_failed` for a message of that ticket only
    (NotFound otherwise). False when it is no longer failed."""
    message = await session.get(OutboxMessage, outbox_id)
    if message is None or message.ticket_id != ticket_id:
        raise NotFound("outbox_message", outbox_id=outbox_id, ticket_id=ticket_id)
    retried = await retry_failed(session, message.id)
    await session.refresh(message)  # the UPDATE bypassed the identity map
    return retried


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the worker next has something to do (pending, or a lease to reclaim)."""
    pending = await session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.state == OutboxState.PENDING))
    leased = await session.scalar(select(func.min(OutboxMessage.lease_until)).where(
        OutboxMessage.state == OutboxState.SENDING))
    found = [t for t in (pending, leased) if t is not None]
    return min(found) if found else None


async def count_unfinished(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)))) or 0


@dataclass(frozen=True)
class DeliveryStatus:
    """One message as the ticket card shows it.

    `outcome`: "telegram" | "sms" (delivered by that channel), "failed", or "pending" (queued,
    sending or waiting to retry; `next_attempt_at` says when). `error`: why it failed, or the
    last transient error of a pending one. `telegram_error`: why Telegram did not deliver it
    (blocked, chat not found, ...) when it went or is going by SMS; None with `no_chat` True
    means there was no chat to try."""

    outbox_id: int
    kind: str
    outcome: str
    state: OutboxState
    channel: Channel | None
    error: str | None
    telegram_error: str | None
    no_chat: bool
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def _outcome(message: OutboxMessage) -> str:
    if message.state == OutboxState.SENT:
        return "sms" if message.channel == Channel.SMS else "telegram"
    if message.state == OutboxState.FAILED:
        return "failed"
    return "pending"


# Every ticket card reads it: built once, not per card.
_TICKET_MESSAGES = (
    select(OutboxMessage).where(OutboxMessage.ticket_id == bindparam("ticket_id"))
    .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    .execution_options(populate_existing=True))  # the worker updates rows behind the ORM


async def delivery_state(session: AsyncSession, ticket_id: int) -> list[DeliveryStatus]:
    """The ticket's messages, newest first: data for ✓ Telegram / ✓ SMS / ✗ why / ⏳."""
    messages = list(await session.scalars(_TICKET_MESSAGES, {"ticket_id": ticket_id}))
    tg_errors: dict[int, str | None] = {}
    if messages:
        rows = await session.execute(
            select(DeliveryAttempt.outbox_id, DeliveryAttempt.error).where(
                DeliveryAttempt.outbox_id.in_([m.id for m in messages]),
                DeliveryAttempt.channel == Channel.TELEGRAM, DeliveryAttempt.ok.is_(False),
                DeliveryAttempt.error != INTERRUPTED,
            ).order_by(DeliveryAttempt.id)
        )
        tg_errors = {outbox_id: error for outbox_id, error in rows}  # latest wins
    return [
        DeliveryStatus(
            outbox_id=m.id, kind=m.kind, outcome=_outcome(m), state=m.state, channel=m.channel,
            error=m.last_error if m.state != OutboxState.SENT else None,
            telegram_error=tg_errors.get(m.id) if m.channel == Channel.SMS else None,
            no_chat=m.chat_id is None and m.id not in tg_errors,
            attempts=m.attempts, created_at=m.created_at, sent_at=m.sent_at,
            next_attempt_at=m.next_attempt_at if m.state == OutboxState.PENDING else None,
        )
        for m in messages
    ]


async def attempts_of(session: AsyncSession, outbox_id: int) -> Sequence[DeliveryAttempt]:
    return (await session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == outbox_id)
        .order_by(DeliveryAttempt.id)
    )).all()
