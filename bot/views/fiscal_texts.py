"""What people read about shifts and fiscal trouble. Call inside an i18n context with the
reader's locale (handlers have one; jobs use `I18n.context()` + `use_locale()`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h, local_dt, money
from db.fiscal.queue import Backlog, FailedItem, FiscalJob, FiscalKind
from db.money.models import ReceiptKind
from db.money.shifts import ShiftReport
from fiscal import Report

if TYPE_CHECKING:
    from bot.usecases.shift_close import CloseResult


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("{hours} ч {minutes} мин").format(hours=hours, minutes=minutes)
    return _("{minutes} мин").format(minutes=minutes)


def money_lines(report: ShiftReport, lang: str) -> list[str]:
    """Totals of an internal X or Z report."""
    lines = [
        _("Продажи: {count} чек(ов) на {sum}").format(
            count=report.receipts_count, sum=money(report.sales_total, lang)),
        _("Возвраты: {count} на {sum}").format(
            count=report.refunds_count, sum=money(report.refunds_total, lang)),
    ]
    if report.payment_types:
        lines.append(_("По видам оплаты:"))
        for t in report.payment_types:
            name = h(t.name_uk if lang == "uk" else t.name_ru)
            if t.refunds:
                lines.append(_("• {name}: {net} (продажи {sales}, возвраты {refunds})").format(
                    name=name, net=money(t.net, lang), sales=money(t.sales, lang),
                    refunds=money(t.refunds, lang)))
            else:
                lines.append(f"• {name}: {money(t.sales, lang)}")
    if report.change_given:
        lines.append(_("Сдача выдана: {sum}").format(sum=money(report.change_given, lang)))
    if report.service_in or report.service_out:
        lines.append(_("Служебное внесение: {cash_in} · изъятие: {cash_out}").format(
            cash_in=money(report.service_in, lang), cash_out=money(report.service_out, lang)))
    if report.expenses_cash or report.expenses_cashless:
        lines.append(_("Расходы: наличными {cash}, безналом {cashless}").format(
            cash=money(report.expenses_cash, lang),
            cashless=money(report.expenses_cashless, lang)))
    lines.append(_("В кассе на открытии: {sum}").format(sum=money(report.drawer_at_open, lang)))
    if report.is_z:
        lines.append(_("<b>В кассе на закрытии: {sum}</b>").format(
            sum=money(report.drawer, lang)))
    else:
        lines.append(_("<b>В кассе сейчас: {sum}</b>").format(sum=money(report.drawer, lang)))
    return lines


def fiscal_report_lines(report: Report, lang: str, drawer: int | None = None) -> list[str]:
    """The PRRO's own X or Z report; with `drawer` (the internal report's cash) the PRRO's cash
    is compared with it instead of being shown as a second figure."""
    if report.is_z_report:
        head = _("🧾 <b>Z-отчёт ПРРО №{serial}</b>").format(serial=report.serial or "—")
    else:
        head = _("🧾 <b>X-отчёт ПРРО</b>")
    lines = [head]
    if report.fiscal_code:
        lines.append(_("Фискальный номер: {code}").format(code=h(report.fiscal_code)))
    lines.append(_("Продажи: {count} чек(ов) на {sum}").format(
        count=report.sell_receipts_count, sum=money(report.sell_sum, lang)))
    lines.append(_("Возвраты: {count} на {sum}").format(
        count=report.return_receipts_count, sum=money(report.return_sum, lang)))
    for p in report.payments:
        if p.sell_sum or p.return_sum:
            lines.append(f"• {h(p.label or p.type)}: {money(p.sell_sum - p.return_sum, lang)}")
    if report.service_in or report.service_out:
        lines.append(_("Служебное внесение: {cash_in} · изъятие: {cash_out}").format(
            cash_in=money(report.service_in, lang), cash_out=money(report.service_out, lang)))
    if drawer is None:
        lines.append(_("Наличные в ПРРО: {sum}").format(sum=money(report.balance, lang)))
    elif drawer == report.balance:
        lines.append(_("Наличные в ПРРО совпадают с кассой ✅"))
    else:
        lines.append(_("⚠️ Наличные в ПРРО: {sum} — не совпадают с кассой ({drawer}), "
                       "разница {diff}").format(
            sum=money(report.balance, lang), drawer=money(drawer, lang),
            diff=money(report.balance - drawer, lang)))
    return lines


def backlog_line(backlog: Backlog) -> str | None:
    if not backlog.pending and not backlog.errors:
        return None
    return _("⚠️ Не фискализировано: в очереди {pending}, с ошибкой {errors} — см. /shift").format(
        pending=backlog.pending, errors=backlog.errors)


def close_summary(result: CloseResult, lang: str, tz: ZoneInfo, *, fiscal: bool) -> str:
    """The Z-report message: what owners get after any closing, and the closer sees."""
    report = result.report
    how = {
        "auto": _("автоматически"),
        "catch_up": _("автоматически, после простоя"),
    }.get(result.reason) or h(result.actor_name or "")
    lines = []
    if report is not None:
        lines.append(_("🔒 <b>Смена №{number} закрыта</b> ({how})").format(
            number=report.number, how=how))
        lines.append(f"{local_dt(report.opened_at, tz, lang)} — "
                     f"{local_dt(report.closed_at or report.opened_at, tz, lang)}")
        lines.extend(money_lines(report, lang))
    else:
        lines.append(_("🔒 <b>Смена ПРРО закрыта</b> ({how})").format(how=how))
    if result.fiscal_z is not None:
        lines.append("")
        lines.extend(fiscal_report_lines(result.fiscal_z, lang,
                                         report.drawer if report is not None else None))
    elif fiscal:
        lines.append(_("ПРРО: смена не была открыта (фискальных чеков не было)."))
    else:
        lines.append(_("Чеки внутренние (без ПРРО)."))
    if result.backlog is not None and (extra := backlog_line(result.backlog)):
        lines.append(extra)
    return "\n".join(lines)


def close_failed(result: CloseResult, lang: str, *, automatic: bool) -> str:
    lines = [_("⚠️ <b>Не удалось закрыть смену {number}</b>").format(
        number=f"№{result.shift_number}" if result.shift_number else "")]
    lines.append(_("Причина: {error}").format(error=h(result.error or "?")))
    if result.fiscal_z is not None:
        lines.append(_("Смена в ПРРО закрыта (Z №{serial}), но внутренний отчёт не записан.")
                     .format(serial=result.fiscal_z.serial or "—"))
    lines.append(_("Смена осталась открытой."))
    if automatic:
        lines.append(_("Попробую снова через час."))
    lines.append(_("Закрыть вручную: /shift → «Закрыть смену (Z)». Если ошибка повторяется — "
                   "проверьте кассу и смену в кабинете Checkbox."))
    return "\n".join(lines)


def item_title(kind: FiscalKind, row_id: int, receipt_kind: ReceiptKind | None,
               amount: int, lang: str, related_id: int | None = None) -> str:
    if kind == FiscalKind.CASH_MOVE:
        if amount > 0:
            return _("Служебное внесение {sum}").format(sum=money(amount, lang))
        return _("Служебное изъятие {sum}").format(sum=money(-amount, lang))
    if receipt_kind == ReceiptKind.REFUND:
        if related_id:
            return _("Возврат №{id} к чеку №{original} ({sum})").format(
                id=row_id, original=related_id, sum=money(amount, lang))
        return _("Возврат №{id} ({sum})").format(id=row_id, sum=money(amount, lang))
    return _("Чек №{id} ({sum})").format(id=row_id, sum=money(amount, lang))


def fiscal_failure(job: FiscalJob, error: str, lang: str, tz: ZoneInfo) -> str:
    """To the staff member who took the payment and to the owners."""
    title = item_title(job.kind, job.row_id, job.receipt_kind, job.total, lang,
                       job.related_receipt_id)
    lines = [_("⚠️ <b>Не фискализировано: {title}</b>").format(title=title),
             local_dt(job.at, tz, lang)]
    if job.ticket_number:
        lines.append(_("Обращение [{number}]").format(number=job.ticket_number))
    lines.append(_("ПРРО ответил: {error}").format(error=h(error)))
    lines.append(_("Оплата сохранена. Что делать: откройте кабинет Checkbox и проверьте кассу "
                   "(смену, налоги, данные чека). Когда причина устранена — нажмите «Повторить». "
                   "Клиенту пока можно выдать внутренний чек."))
    if job.kind == FiscalKind.RECEIPT and job.receipt_kind == ReceiptKind.SALE:
        lines.append(_("Возвраты по этому чеку ждут, пока он не будет фискализирован."))
    return "\n".join(lines)


def failed_item_line(item: FailedItem, lang: str, tz: ZoneInfo) -> str:
    title = item_title(item.kind, item.row_id, item.receipt_kind, item.amount, lang)
    ticket = f" · [{item.ticket_number}]" if item.ticket_number else ""
    return f"• {title}{ticket} · {local_dt(item.at, tz, lang)}\n  {h(item.error[:200])}"


def provider_unavailable(error: str, *, auth: bool) -> str:
    if auth:
        return _("⚠️ Checkbox не пускает кассира: {error}\nПроверьте CHECKBOX_LICENSE_KEY и "
                 "CHECKBOX_PIN_CODE. Чеки ждут в очереди и уйдут, когда вход заработает."
                 ).format(error=h(error))
    return _("⚠️ ПРРО не открывает смену: {error}\nПроверьте кассу в кабинете Checkbox. Чеки "
             "ждут в очереди.").format(error=h(error))


def shift_age_warning(opened_at: datetime, now: datetime, *, stale: bool, overdue: bool) -> str:
    if stale:
        return _("⚠️ Смена открыта больше 24 часов ({age}): приём денег остановлен, пока её не "
                 "закроют. Нажмите «Закрыть смену (Z)» — остальное сделается само.").format(
            age=duration(now - opened_at))
    if overdue:
        return _("⚠️ Смена с прошлого дня: закройте её кнопкой «Закрыть смену (Z)» (или она "
                 "закроется автоматически в течение часа).")
    return ""
