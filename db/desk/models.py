"""Core models: staff and invites, clients, devices, tickets, statuses, comments, audit."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, BigId, BilingualName, UTCDateTime, str_enum, utcnow


class Role(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    MASTER = "master"


class StatusKind(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    READY = "ready"
    DONE = "done"  # closed, repaired and handed over
    REFUSED = "refused"  # closed, not repaired

    @property
    def is_closed(self) -> bool:
        return self in CLOSED_STATUS_KINDS


CLOSED_STATUS_KINDS = (StatusKind.DONE, StatusKind.REFUSED)


class AttachmentKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class Counter(Base):
    """Named gap-free sequences (ticket numbers); bumped with UPDATE ... RETURNING."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tg_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    # Percent of completed work in basis points (30 % = 3000): exact integer maths.
    commission_bp: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("commission_bp >= 0 AND commission_bp <= 10000", name="commission"),
    )

    @property
    def is_manager_or_owner(self) -> bool:
        return self.role in (Role.OWNER, Role.MANAGER)


class Invite(Base):
    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "invite_role"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    surname: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    # Digits reversed so "last digits" is an indexed prefix search.
    phone_rev: Mapped[str] = mapped_column(String(20))
    extra_phone: Mapped[str | None] = mapped_column(String(20))
    extra_phone_rev: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    # casefold("name surname"): Python folds Cyrillic, SQLite's lower() does not.
    search_name: Mapped[str] = mapped_column(String(260), default="")
    tg_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    self_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    devices: Mapped[list[Device]] = relationship(
        back_populates="client", order_by="Device.id", lazy="raise"
    )

    # On PostgreSQL the migrations create the two *_phone_rev indexes with varchar_pattern_ops
    # (LIKE 'digits%' uses them under any collation). The model leaves the operator class out:
    # naming it here loads SQLAlchemy's PostgreSQL dialect at every start (~0.2 s) even on
    # SQLite, and Alembic's comparison does not look at operator classes.
    __table_args__ = (
        Index("ix_clients_phone_rev", "phone_rev"),
        Index("ix_clients_extra_phone_rev", "extra_phone_rev"),
        Index("ix_clients_extra_phone", "extra_phone"),
    )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.name, self.surname) if p)


class DeviceType(BilingualName, Base):
    """Editable list of device kinds shown as intake buttons."""

    __tablename__ = "device_types"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64), default="")
    brand: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(128), default="")
    serial: Mapped[str | None] = mapped_column(String(64))
    serial_norm: Mapped[str | None] = mapped_column(String(64), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="devices", lazy="raise")

    @property
    def title(self) -> str:
        return " ".join(p for p in (self.brand, self.model) if p) or self.kind or "—"


class Status(BilingualName, Base):
    __tablename__ = "statuses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[StatusKind] = mapped_column(str_enum(StatusKind, "status_kind"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StatusTransition(Base):
    __tablename__ = "status_transitions"
    from_status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    to_status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="RESTRICT"), index=True
    )
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    master_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id"), index=True)
    defect: Mapped[str] = mapped_column(Text)
    condition: Mapped[str] = mapped_column(Text, default="")
    kit: Mapped[str] = mapped_column(Text, default="")
    lock_code: Mapped[str] = mapped_column(String(64), default="")
    estimate: Mapped[int | None] = mapped_column(BigInteger)  # kopecks
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    is_warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    warranty_days: Mapped[int] = mapped_column(Integer, default=30)
    # Unguessable token for the client's status link (never the ticket number).
    public_token: Mapped[str] = mapped_column(String(32), unique=True)

    device: Mapped[Device] = relationship(lazy="raise")
    client: Mapped[Client] = relationship(lazy="raise")
    status: Mapped[Status] = relationship(lazy="raise")
    master: Mapped[Staff | None] = relationship(foreign_keys=[master_id], lazy="raise")

    __table_args__ = (
        CheckConstraint("estimate IS NULL OR estimate >= 0", name="estimate"),
        CheckConstraint("warranty_days >= 0", name="warranty_days"),
    )

    # --- money (issue 4, migration 0002): stamped by db.money.closing.close_ticket ---
    commission: Mapped[int | None] = mapped_column(BigInteger)  # master's share, kopecks
    commission_bp: Mapped[int | None] = mapped_column(Integer)  # master's percent then
    commission_base: Mapped[int | None] = mapped_column(BigInteger)  # kopecks it applied to
    # --- end money ---


class StatusChange(Base):
    __tablename__ = "status_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id"))
    to_status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Set when the client moved it (estimate approval) instead of staff.
    by_client: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed for the reports' "moved to ready that day" (migration 0004).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    # Staff comments are internal unless marked for the client.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="comment",
        order_by="Attachment.id",
        lazy="raise",
        cascade="all, delete-orphan",
    )


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, "attachment_kind"))
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    file_name: Mapped[str | None] = mapped_column(String(256))
    size: Mapped[int | None] = mapped_column(BigInteger)
    caption: Mapped[str] = mapped_column(Text, default="")

    comment: Mapped[Comment] = relationship(back_populates="attachments", lazy="raise")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)


class Setting(Base):
    """Shop settings the owner edits in chat (key → JSON value)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


__all__ = [
    "CLOSED_STATUS_KINDS",
    "Attachment",
    "AttachmentKind",
    "AuditEntry",
    "Client",
    "Comment",
    "Counter",
    "Device",
    "DeviceType",
    "Invite",
    "Role",
    "Setting",
    "Staff",
    "Status",
    "StatusChange",
    "StatusKind",
    "StatusTransition",
    "Ticket",
]
