"""Notification tables: the outbox, every delivery attempt, message templates, unreachable chats.

Registered with `Base.metadata` by importing this module (the migration env does).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import db.desk.models  # noqa: F401  (clients and tickets, referenced below)
from db.base import Base, BigId, UTCDateTime, str_enum, utcnow


class MessageKind(enum.StrEnum):
    """Known kinds. The column is a plain string, so a new kind needs no migration."""

    INTAKE = "intake"
    STATUS = "status"
    ESTIMATE = "estimate"
    READY = "ready"
    REMINDER = "reminder"
    RECEIPT = "receipt"
    CUSTOM = "custom"
    INTAKE_DOC = "intake_doc"  # the intake receipt PDF (a document: Telegram only)


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # given up; last_error says why


class Channel(enum.StrEnum):
    TELEGRAM = "telegram"
    SMS = "sms"


class MediaKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class OutboxMessage(Base):
    """One message to one client. Text is rendered when enqueued, so a later template edit
    never changes what a pending message says."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    # Plain-text variant for SMS; None means "derive from text".
    sms_text: Mapped[str | None] = mapped_column(Text)
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    # [[{"text", "callback_data"} | {"text", "url"}, ...], ...]
    buttons: Mapped[list[list[dict[str, str]]] | None] = mapped_column(JSON(none_as_null=True))
    media_kind: Mapped[MediaKind | None] = mapped_column(str_enum(MediaKind, "outbox_media_kind"))
    media_ref: Mapped[str | None] = mapped_column(String(512))  # Telegram file_id or URL
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    state: Mapped[OutboxState] = mapped_column(
        str_enum(OutboxState, "outbox_state"), default=OutboxState.PENDING
    )
    # Channel in use: None until decided; "sms" once Telegram is given up on; then the one
    # that delivered.
    channel: Mapped[Channel | None] = mapped_column(str_enum(Channel, "outbox_channel"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Consecutive transient failures on the current channel (drives backoff and giving up).
    retries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    dedup_key: Mapped[str | None] = mapped_column(String(160), unique=True)

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "attempt_channel"))
    ok: Mapped[bool] = mapped_column(Boolean)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageTemplate(Base):
    """A text the owner edits in /templates; one language per row (a client gets the
    templates of their language)."""

    __tablename__ = "message_templates"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "language", "name", name="uq_message_templates_kind_lang_name"),
    )


class UnreachableChat(Base):
    """A chat unlinked because Telegram said the client is gone (403, chat not found);
    kept so an unblock (/start again) can restore the link without a new contact."""

    __tablename__ = "unreachable_chats"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = [
    "Channel",
    "DeliveryAttempt",
    "MediaKind",
    "MessageKind",
    "MessageTemplate",
    "OutboxMessage",
    "OutboxState",
    "UnreachableChat",
]
