"""notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Outbox, delivery attempts, message templates, client links.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# kind, language, name, is_default, text — what a good shop sends: who, which device and
# ticket, what to pay, where and whom to call. Empty placeholders drop their line.
TEMPLATES = [
    ("ready", "uk", "Можна забирати", True,
     "Вітаємо, {name}!\n"
     "Ремонт завершено: {device}, звернення №{ticket}. Можна забирати.\n"
     "До сплати: {amount_due}\n"
     "Адреса: {address}\n"
     "Тел.: {phone}\n"
     "{shop}"),
    ("ready", "uk", "Коротко (SMS)", False,
     "Звернення №{ticket} готове, можна забирати.\n"
     "До сплати: {amount_due}\n"
     "{shop} {phone}"),
    ("ready", "ru", "Можно забирать", True,
     "Здравствуйте, {name}!\n"
     "Ремонт завершён: {device}, обращение №{ticket}. Можно забирать.\n"
     "К оплате: {amount_due}\n"
     "Адрес: {address}\n"
     "Тел.: {phone}\n"
     "{shop}"),
    ("ready", "ru", "Коротко (SMS)", False,
     "Обращение №{ticket} готово, можно забирать.\n"
     "К оплате: {amount_due}\n"
     "{shop} {phone}"),
    ("reminder", "uk", "Нагадування", True,
     "Вітаємо, {name}!\n"
     "Нагадуємо: ремонт за зверненням №{ticket} ({device}) завершено, пристрій чекає на вас.\n"
     "До сплати: {amount_due}\n"
     "Адреса: {address}\n"
     "Тел.: {phone}\n"
     "{shop}"),
    ("reminder", "ru", "Напоминание", True,
     "Здравствуйте, {name}!\n"
     "Напоминаем: ремонт по обращению №{ticket} ({device}) завершён, устройство ждёт вас.\n"
     "К оплате: {amount_due}\n"
     "Адрес: {address}\n"
     "Тел.: {phone}\n"
     "{shop}"),
]


def _enum(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("client_id", ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sms_text", sa.Text(), nullable=True),
        sa.Column("parse_mode", sa.String(length=16), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("media_kind", _enum("photo", "document", name="outbox_media_kind"),
                  nullable=True),
        sa.Column("media_ref", sa.String(length=512), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("state", _enum("pending", "sending", "sent", "failed", name="outbox_state"),
                  nullable=False),
        sa.Column("channel", _enum("telegram", "sms", name="outbox_channel"), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("dedup_key", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="SET NULL",
                                name=op.f("fk_outbox_client_id_clients")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="SET NULL",
                                name=op.f("fk_outbox_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "delivery_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("outbox_id", ID, nullable=False),
        sa.Column("channel", _enum("telegram", "sms", name="attempt_channel"), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE",
                                name=op.f("fk_delivery_attempts_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_attempts_outbox_id"), ["outbox_id"],
                              unique=False)

    templates = op.create_table(
        "message_templates",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint("kind", "language", "name",
                            name="uq_message_templates_kind_lang_name"),
    )

    op.create_table(
        "unreachable_chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name=op.f("fk_unreachable_chats_client_id_clients")),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_unreachable_chats")),
    )

    now = datetime.now(UTC)
    positions: dict[tuple[str, str], int] = {}
    rows = []
    for kind, language, name, is_default, text in TEMPLATES:
        position = positions[(kind, language)] = positions.get((kind, language), 0) + 10
        rows.append({"kind": kind, "language": language, "name": name, "text": text,
                     "is_default": is_default, "position": position, "created_at": now,
                     "updated_at": now})
    op.bulk_insert(templates, rows)


def downgrade() -> None:
    op.drop_table("unreachable_chats")
    op.drop_table("message_templates")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_outbox_id"))
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_client_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_chat_id"))
        batch_op.drop_index("ix_outbox_due")
    op.drop_table("outbox")
    op.execute(sa.text("DELETE FROM settings WHERE key LIKE 'notify.%'"))
