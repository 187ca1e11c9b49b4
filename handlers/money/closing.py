""""🏁 Закрыть обращение": what is paid and what is not (pay or add one more receipt right there),
"Далее" → a summary with the master's commission to check → close (bot.usecases.closing).
Closing with an unpaid receipt needs a button that names the debt; its amount travels in the
callback and the domain compares it under the ticket's lock."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.usecases.closing import close_ticket
from bot.usecases.notices import NoticeTexts
from bot.views.formatting import h, money
from db.desk.models import Staff, StatusKind, Ticket
from db.desk.tickets import allowed_targets, get_ticket
from db.engine import DbSession
from db.errors import DomainError
from db.money.closing import ClosingSummary, closing_status, closing_summary
from db.money.errors import UnpaidChanged
from handlers.filters import IsStaff
from handlers.money.common import alert, leave_form, money_error
from handlers.ticket_card import send_ticket_card
from handlers.ticket_view import ticket_title
from handlers.ui import edit_and_answer, edit_or_send
from keyboards.callbacks import TicketAction, TicketCb
from keyboards.common import button, markup
from keyboards.money import CloseAction, CloseCb, PayAction, PayCb, ReceiptAction, ReceiptCb

UNPAID_SHOWN = 5


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
        id=u.receipt_id, amount=money(u.total, lang)),
        PayCb(action=PayAction.START, id=u.receipt_id))] for u in summary.unpaid[:UNPAID_SHOWN]]


async def render_start(session: DbSession, ticket: Ticket, lang: str
                       ) -> tuple[str, InlineKeyboardMarkup]:
    summary = await closing_summary(session, ticket.id)
    lines = [_("🏁 <b>Закрытие</b> · {title}").format(title=h(ticket_title(ticket))),
             *money_lines(summary, lang)]
    rows = [*pay_buttons(summary, lang),
            [button(_("➕ Ещё чек"), ReceiptCb(action=ReceiptAction.NEW, id=ticket.id)),
             button(_("Далее →"), CloseCb(action=CloseAction.NEXT, id=ticket.id))],
            [button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))]]
    return "\n".join(lines), markup(rows)


async def not_ready_yet(session: DbSession, ticket: Ticket, lines: list[str], lang: str,
                        back: list[InlineKeyboardButton]) -> tuple[str, InlineKeyboardMarkup]:
    """Guarded transitions: closing goes through "ready" (the client is told to come)."""
    targets = await allowed_targets(session, ticket.status_id)
    ready = next((s for s in targets if s.kind == StatusKind.READY), None)
    lines += ["", _("Закрыть можно из статуса «Можно забирать», сейчас — «{status}».").format(
        status=h(ticket.status.title(lang)))]
    rows = [] if ready is None else [[button(_("✅ {status}").format(status=ready.title(lang)),
                                             TicketCb(action=TicketAction.SET, id=ticket.id,
                                                      arg=ready.id))]]
    return "\n".join(lines), markup([*rows, back])


async def render_summary(session: DbSession, ticket: Ticket, lang: str
                         ) -> tuple[str, InlineKeyboardMarkup]:
    summary = await closing_summary(session, ticket.id)
    lines = [_("🏁 Проверьте перед закрытием [{number}]:").format(number=ticket.number),
             *money_lines(summary, lang), commission_line(summary, ticket, lang)]
    back = [button(_("← Назад"), CloseCb(action=CloseAction.START, id=ticket.id))]
    done = await closing_status(session, ticket)
    if done is None:
        return await not_ready_yet(session, ticket, lines, lang, back)
    lines.append(_("Статус станет «{status}».").format(status=h(done.title(lang))))
    debt = summary.unpaid_total
    if summary.unpaid:
        lines.append(_("⚠️ Не оплачено {amount} — останется долгом клиента.").format(
            amount=money(debt, lang)))
        ok = button(_("⚠️ Закрыть с долгом {amount}").format(amount=money(debt, lang)),
                    CloseCb(action=CloseAction.OK, id=ticket.id, debt=debt))
    else:
        ok = button(_("✅ Закрыть обращение"), CloseCb(action=CloseAction.OK, id=ticket.id))
    return "\n".join(lines), markup([*pay_buttons(summary, lang), [ok], back])


async def open_ticket_or_alert(query: CallbackQuery, session: DbSession, ticket_id: int
                               ) -> Ticket | None:
    ticket = await get_ticket(session, ticket_id)
    if ticket.status.kind.is_closed:
        await alert(query, _("Обращение [{number}] уже закрыто.").format(number=ticket.number))
        return None
    return ticket


async def show(query: CallbackQuery, callback_data: CloseCb, session: DbSession,
               state: FSMContext, lang: str) -> None:
    await leave_form(state)
    ticket = await open_ticket_or_alert(query, session, callback_data.id)
    if ticket is None:
        return
    render = render_start if callback_data.action == CloseAction.START else render_summary
    text, kb = await render(session, ticket, lang)
    await edit_and_answer(query, text, kb)


async def close(query: CallbackQuery, callback_data: CloseCb, session: DbSession, staff: Staff,
                lang: str, settings: Settings, notices: NoticeTexts) -> None:
    ticket = await open_ticket_or_alert(query, session, callback_data.id)
    if ticket is None:
        return
    try:
        closed = await close_ticket(session, staff, ticket.id, confirmed_debt=callback_data.debt,
                                    texts=notices)
    except UnpaidChanged as exc:
        # The lock re-read the ticket's row: read it again with what the summary shows.
        text, kb = await render_summary(session, await get_ticket(session, ticket.id), lang)
        await edit_or_send(query, text, kb)
        await alert(query, money_error(exc))
        return
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    ticket, stamped = closed.ticket, closed.stamped
    lines = [_("✅ Обращение [{number}] закрыто: «{status}».").format(
        number=ticket.number, status=h(ticket.status.title(lang))),
        commission_line(stamped, ticket, lang)]
    if stamped.unpaid:
        lines.append(_("⚠️ Долг клиента: {amount}").format(
            amount=money(stamped.unpaid_total, lang)))
    await edit_and_answer(query, "\n".join(lines), note=_("Закрыто"))
    await send_ticket_card(query, session, ticket.id, lang, settings, edit=False)


def setup() -> Router:
    router = Router(name="money.closing")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(
        show, CloseCb.filter(F.action.in_({CloseAction.START, CloseAction.NEXT})))
    router.callback_query.register(close, CloseCb.filter(F.action == CloseAction.OK))
    return router
