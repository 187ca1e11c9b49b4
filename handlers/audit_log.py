"""/audit (owner): who did what with money, statuses and access — newest first, a page of ten,
times in the shop's zone, each line naming the ticket [N] and the receipt it was about."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import h, local_dt, money
from db.audit import AuditPage, AuditRecord, AuditTopic, audit_page
from db.desk.models import Role, Staff
from db.engine import DbSession
from handlers.common import role_title
from handlers.filters import IsStaff
from handlers.ui import edit_and_answer, edit_or_send
from keyboards.audit import AuditCb, audit_markup, topic_title

PAGE_SIZE = 10
REASON_SHOWN = 60  # a cash move's reason is cut in the list (the page must fit one message)

Describe = Callable[[AuditRecord, AuditPage, str], str]


def _money(record: AuditRecord, key: str, lang: str) -> str:
    value = record.data.get(key)
    return money(value, lang) if isinstance(value, int) else "—"


def _role(record: AuditRecord, key: str = "role") -> str:
    try:
        return role_title(Role(str(record.data.get(key))))
    except ValueError:
        return "—"


def _status(page: AuditPage, code: object, lang: str) -> str:
    status = page.statuses.get(str(code))
    return status.title(lang) if status is not None else str(code)


def _pay(r: AuditRecord, _p: AuditPage, lang: str) -> str:
    text = _("💳 оплата чека №{id}: {total}").format(id=r.entity_id, total=_money(r, "total", lang))
    if r.data.get("change"):
        text += _(", сдача {change}").format(change=_money(r, "change", lang))
    return text


def _refund(r: AuditRecord, _p: AuditPage, lang: str) -> str:
    return _("↩️ возврат №{id} по чеку №{original}: {total}").format(
        id=r.entity_id, original=r.data.get("original_id", "?"), total=_money(r, "total", lang))


def _cash(r: AuditRecord, _p: AuditPage, lang: str) -> str:
    amount = r.data.get("amount")
    reason = h(str(r.data.get("reason", ""))[:REASON_SHOWN])
    if isinstance(amount, int) and amount < 0:
        return _("💸 изъятие {amount}: {reason}").format(amount=money(-amount, lang),
                                                        reason=reason)
    return _("💵 внесение {amount}: {reason}").format(amount=_money(r, "amount", lang),
                                                     reason=reason)


def _shift_close(r: AuditRecord, _p: AuditPage, lang: str) -> str:
    text = _("🔒 смена №{number} закрыта: продажи {sales}, возвраты {refunds}, в кассе "
             "{drawer}").format(number=r.data.get("number", "?"), sales=_money(r, "sales", lang),
                                refunds=_money(r, "refunds", lang),
                                drawer=_money(r, "drawer", lang))
    return text + (_(" (автоматически)") if r.data.get("scheduler") else "")


def _ticket_close(r: AuditRecord, _p: AuditPage, lang: str) -> str:
    text = _("🏁 обращение закрыто: оплачено {paid}").format(paid=_money(r, "paid", lang))
    if r.data.get("unpaid"):
        text += _(", долг {unpaid}").format(unpaid=_money(r, "unpaid", lang))
    return text


def _status_move(r: AuditRecord, p: AuditPage, lang: str) -> str:
    return _("🔄 статус: {old} → {new}").format(old=_status(p, r.data.get("old"), lang),
                                                new=_status(p, r.data.get("new"), lang))


def _commission(r: AuditRecord, _p: AuditPage, _lang: str) -> str:
    old, new = r.data.get("old"), r.data.get("new")
    return _("👤 процент {name}: {old}% → {new}%").format(
        name=h(r.subject or "—"), old=old / 100 if isinstance(old, int) else "?",
        new=new / 100 if isinstance(new, int) else "?")


DESCRIBE: dict[str, Describe] = {
    "receipt.pay": _pay,
    "receipt.refund": _refund,
    "receipt.delete": lambda r, _p, lang: _("🗑 удалён неоплаченный чек №{id} ({total})").format(
        id=r.entity_id, total=_money(r, "total", lang)),
    "expense.add": lambda r, _p, lang: _("🧾 расход {amount}").format(
        amount=_money(r, "amount", lang)),
    "expense.delete": lambda r, _p, lang: _("🗑 удалён расход {amount}").format(
        amount=_money(r, "amount", lang)),
    "cash.service": _cash,
    "shift.open": lambda r, _p, lang: _("🔓 смена №{number} открыта, в кассе {drawer}").format(
        number=r.data.get("number", "?"), drawer=_money(r, "drawer", lang)),
    "shift.close": _shift_close,
    "ticket.close": _ticket_close,
    "fiscal.retry": lambda r, _p, _lang: _("🔁 повторная отправка в ПРРО"),
    "ticket.open": lambda r, _p, _lang: _("📥 устройство принято"),
    "ticket.status": _status_move,
    "invite.create": lambda r, _p, _lang: _("🔗 приглашение: {role}").format(role=_role(r)),
    "invite.revoke": lambda r, _p, _lang: _("✖️ приглашение отозвано"),
    "invite.accept": lambda r, _p, _lang: _("👋 принято приглашение: {role}").format(
        role=_role(r)),
    "staff.role": lambda r, _p, _lang: _("👤 роль {name}: {old} → {new}").format(
        name=h(r.subject or "—"), old=_role(r, "old"), new=_role(r, "new")),
    "staff.active": lambda r, _p, _lang: (
        _("👤 {name} снова в работе") if r.data.get("active") else _("⛔ {name} отключён")
    ).format(name=h(r.subject or "—")),
    "staff.commission": _commission,
    "staff.owner_from_settings": lambda r, _p, _lang: _("👑 владелец из OWNER_IDS"),
}


def who(record: AuditRecord) -> str:
    if record.who is not None:
        return h(record.who)
    if record.data.get("by_client"):
        return _("клиент")
    return _("система")


def audit_line(record: AuditRecord, page: AuditPage, lang: str, settings: Settings) -> str:
    describe = DESCRIBE.get(record.action)
    what = describe(record, page, lang) if describe else h(record.action)
    where = f" · [{record.ticket_number}]" if record.ticket_number is not None else ""
    return f"{local_dt(record.created_at, settings.tz, lang)} · {who(record)}{where}\n  {what}"


def audit_text(page: AuditPage, topic: AuditTopic, lang: str, settings: Settings) -> str:
    head = _("📜 <b>Журнал действий</b> · {topic}").format(topic=topic_title(topic))
    if not page.records:
        return head + "\n\n" + _("Записей пока нет.")
    lines = [audit_line(record, page, lang, settings) for record in page.records]
    return head + "\n\n" + "\n".join(lines)


async def audit_view(session: DbSession, staff: Staff, topic: AuditTopic, page_no: int,
                     lang: str, settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    page = await audit_page(session, staff, topic, page_no, PAGE_SIZE)
    return (audit_text(page, topic, lang, settings),
            audit_markup(topic, page.page, page.pages))


async def audit_command(message: Message, session: DbSession, staff: Staff, lang: str,
                        settings: Settings) -> None:
    text, kb = await audit_view(session, staff, AuditTopic.ALL, 0, lang, settings)
    await edit_or_send(message, text, kb)


async def audit_cb(query: CallbackQuery, callback_data: AuditCb, session: DbSession,
                   staff: Staff, lang: str, settings: Settings) -> None:
    text, kb = await audit_view(session, staff, callback_data.topic, callback_data.page, lang,
                                settings)
    await edit_and_answer(query, text, kb)


def setup() -> Router:
    router = Router(name="audit_log")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))
    router.message.register(audit_command, Command("audit"))
    router.callback_query.register(audit_cb, AuditCb.filter())
    return router
