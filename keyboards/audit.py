"""/audit (owner): the log's pages and topics. A page's buttons carry its whole state, so an
old page still works; handlers re-check the role (callback data can be forged)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from db.audit import AuditTopic
from keyboards.common import DbId, button, markup, pager


class AuditCb(CallbackData, prefix="au"):
    topic: AuditTopic = AuditTopic.ALL
    page: DbId = 0


def topic_title(topic: AuditTopic) -> str:
    return {AuditTopic.ALL: _("Всё"), AuditTopic.MONEY: _("💰 Деньги"),
            AuditTopic.STATUS: _("🔄 Статусы"), AuditTopic.ACCESS: _("👥 Доступ")}[topic]


def audit_markup(topic: AuditTopic, page: int, pages: int) -> InlineKeyboardMarkup:
    topics = [button(("✓ " if t is topic else "") + topic_title(t), AuditCb(topic=t))
              for t in AuditTopic]
    return markup([topics, pager(page, pages, lambda p: AuditCb(topic=topic, page=p))])
