""""🏁 Закрыть обращение": what is paid and what is not (pay or add one more receipt right there),
"Далее" → a summary with the master's commission to check → close. Closing with an unpaid
receipt needs a button that names the debt; its amount travels in the callback, so a debt that
changed after the summary was shown is never confirmed blindly."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.usecases.notices import NoticeTexts
from bot.usecases.status import status_follow_up
from bot.views.formatting import h, money
from db.desk.models import Staff, Status, StatusKind, Ticket
from db.desk.tickets import allowed_targets, first_active_status, get_ticket
from db.errors import DomainError, NotFound
from db.money.closing import ClosingSummary, close_ticket, closing_summary
from handlers.filters import IsStaff
from handlers.money.common import alert, leave_form, money_error
from handlers.ticket_card import send_ticket_card
from handlers.ticket_view import ticket_title
from handlers.ui import edit_or_send
from keyboards.callbacks import TicketAction, TicketCb
from keyboards.common import button, markup
from keyboards.money import CloseCb, PayCb, ReceiptCb

UNPAID_SHOWN = 5


async def done_status(session: AsyncSession) -> Status | None:
    """The status closing moves to (the one db.money.closing picks), None when the list has none."""
    try:
        return await first_active_status(session, StatusKind.DONE)
    except NotFound:
        return None


def commission_line(summary: ClosingSummary, ticket: Ticket, lang: str) -> str:
    if ticket.master is None:
        return _("👨‍🔧 Мастер не назначен — процент не начисляется.")
    if not summary.commission_bp:
        return _("👨‍🔧 {name}: процент не задан (0%).").format(name=h(ticket.master.name))
    return _("👨‍🔧 {name}: {pct}% от {base} = <b>{amount}</b>").format(
        name=h(ticket.master.name), pct=f"{summary.commission_bp / 100:g}",
        base=money(summary.commission_base, lang), amount=money(summary.commission, lang))


def money_lines(summary: ClosingSummary, lang: str) -> list[str]:
    lines = [_("🟢 Оплачено: {amount}").format(amount=money(summary.sales_paid, lang))]
    if summary.refunded:
        lines.append(_("↩️ Возвраты: {amount}").format(amount=money(summary.refunded, lang)))
    for unpaid in summary.unpaid[:UNPAID_SHOWN]:
        lines.append(_("🟡 Не оплачен чек №{id}: {amount}").format(
            id=unpaid.receipt_id, amount=money(unpaid.total, lang)))
    if len(summary.unpaid) > UNPAID_SHOWN:
        lines.append(_("… и ещё неоплаченных: {count}").format(
            count=len(summary.unpaid) - UNPAID_SHOWN))
    lines.append(_("🧾 Расходы: {amount}").format(amount=money(summary.expenses, lang)))
    return lines


def pay_buttons(summary: ClosingSummary, lang: str) -> list[list[InlineKeyboardButton]]:
    return [[button(_("💳 Оплатить №{id} · {amount}").format(
        id=u.receipt_id, amount=money(u.total, lang)), PayCb(action="start", id=u.receipt_id))]
        for u in summary.unpaid[:UNPAID_SHOWN]]


async def render_start(session: AsyncSession, ticket: Ticket, lang: str
                       ) -> tuple[str, InlineKeyboardMarkup]:
    summary = await closing_summary(session, ticket.id)
    lines = [_("🏁 <b>Закрытие</b> · {title}").format(title=h(ticket_title(ticket))),
             *money_lines(summary, lang)]
    rows = [*pay_buttons(summary, lang),
            [button(_("➕ Ещё чек"), ReceiptCb(action="new", id=ticket.id)),
             button(_("Далее →"), CloseCb(action="next", id=ticket.id))],
            [button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))]]
    return "\n".join(lines), markup(rows)


async def render_summary(session: AsyncSession, ticket: Ticket, lang: str
                         ) -> tuple[str, InlineKeyboardMarkup]:
    summary = await closing_summary(session, ticket.id)
    done = await done_status(session)
    lines = [_("🏁 Проверьте перед закрытием [{number}]:").format(number=ticket.number),
             *money_lines(summary, lang), commission_line(summary, ticket, lang)]
    back = [button(_("← Назад"), CloseCb(action="start", id=ticket.id))]
    targets = await allowed_targets(session, ticket.status_id)
    if done is None or done.id not in {s.id for s in targets}:
        # Guarded transitions: closing goes through "ready" (the client is told to come).
        ready = next((s for s in targets if s.kind == StatusKind.READY), None)
        lines.append("")
        lines.append(_("Закрыть можно из статуса «Можно забирать», сейчас — «{status}».").format(
            status=h(ticket.status.title(lang))))
        rows = []
        if ready is not None:
            rows.append([button(_("✅ {status}").format(status=ready.title(lang)),
                                TicketCb(action=TicketAction.SET, id=ticket.id, arg=ready.id))])
        return "\n".join(lines), markup([*rows, back])
    lines.append(_("Статус станет «{status}».").format(status=h(done.title(lang))))
    if summary.unpaid:
        lines.append(_("⚠️ Не оплачено {amount} — останется долгом клиента.").format(
            amount=money(summary.unpaid_total, lang)))
        ok = button(_("⚠️ Закрыть с долгом {amount}").format(
            amount=money(summary.unpaid_total, lang)),
            CloseCb(action="ok", id=ticket.id, arg=summary.unpaid_total))
    else:
        ok = button(_("✅ Закрыть обращение"), CloseCb(action="ok", id=ticket.id))
    return "\n".join(lines), markup([*pay_buttons(summary, lang), [ok], back])


def setup(settings: Settings) -> Router:
    router = Router(name="money.closing")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())

    async def open_ticket_or_alert(query: CallbackQuery, session: AsyncSession,
                                   ticket_id: int) -> Ticket | None:
        ticket = await get_ticket(session, ticket_id)
        if ticket.status.kind.is_closed:
            await alert(query, _("Обращение [{number}] уже закрыто.").format(
                number=ticket.number))
            return None
        return ticket

    @router.callback_query(CloseCb.filter(F.action.in_({"start", "next"})))
    async def show(query: CallbackQuery, callback_data: CloseCb, session: AsyncSession,
                   state: FSMContext, lang: str) -> None:
        await leave_form(state)
        ticket = await open_ticket_or_alert(query, session, callback_data.id)
        if ticket is None:
            return
        render = render_start if callback_data.action == "start" else render_summary
        text, kb = await render(session, ticket, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(CloseCb.filter(F.action == "ok"))
    async def close(query: CallbackQuery, callback_data: CloseCb, session: AsyncSession,
                    staff: Staff, lang: str, notices: NoticeTexts) -> None:
        ticket = await open_ticket_or_alert(query, session, callback_data.id)
        if ticket is None:
            return
        summary = await closing_summary(session, ticket.id)
        if summary.unpaid_total != callback_data.arg:
            text, kb = await render_summary(session, ticket, lang)
            await edit_or_send(query, text, kb)
            await alert(query, _("Суммы изменились — проверьте ещё раз."))
            return
        try:
            stamped = await close_ticket(session, staff, ticket.id,
                                         confirm_unpaid=callback_data.arg > 0)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        ticket = await get_ticket(session, ticket.id)
        lines = [_("✅ Обращение [{number}] закрыто: «{status}».").format(
            number=ticket.number, status=h(ticket.status.title(lang))),
            commission_line(stamped, ticket, lang)]
        if stamped.unpaid:
            lines.append(_("⚠️ Долг клиента: {amount}").format(
                amount=money(stamped.unpaid_total, lang)))
        # Closing is a status change: the same follow-up (e.g. the client's "Выдан" message).
        await status_follow_up(session, ticket, notices)
        await edit_or_send(query, "\n".join(lines))
        await query.answer(_("Закрыто"))
        await send_ticket_card(query, session, ticket.id, lang, settings, edit=False)

    return router
