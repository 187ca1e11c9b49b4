"""Report texts for a phone screen: short lines, the total first, money via Babel."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from babel.numbers import format_decimal

from bot.views.formatting import BABEL_LOCALES, h, money
from bot.views.receipts import receipt_text
from bot.views.sms_text import sms_summary
from db.money.models import ReceiptKind
from db.money.receipts import ReceiptFacts
from db.reports.periods import Period
from db.reports.queries import MasterTotal, Payroll, ReceiptDetail, ReceiptRow, Report, Totals


def day_title(day: date, lang: str) -> str:
    """"пт, 20.11.2026"."""
    locale = BABEL_LOCALES.get(lang, "ru_RU")
    return f"{format_date(day, 'EEE', locale=locale)}, {day:%d.%m.%Y}"


def period_title(period: Period, lang: str) -> str:
    if period.is_day:
        return day_title(period.start, lang)
    return f"{period.start:%d.%m.%Y} – {period.end:%d.%m.%Y}"


def percent_text(bp_min: int, bp_max: int, lang: str) -> str:
    locale = BABEL_LOCALES.get(lang, "ru_RU")
    low = format_decimal(bp_min / 100, format="#,##0.##", locale=locale)
    high = format_decimal(bp_max / 100, format="#,##0.##", locale=locale)
    return f"{low} %" if low == high else f"{low}–{high} %"


def master_name(m: MasterTotal) -> str:
    return h(m.name) if m.master_id is not None else _("Без мастера")


def totals_block(t: Totals, lang: str) -> list[str]:
    """The money and tickets of a day or a period (the same lines for both)."""
    if t.is_empty:
        return [_("Ни продаж, ни расходов, ни обращений.")]
    lines = [_("💰 Выручка: <b>{sum}</b>").format(sum=money(t.revenue, lang))]
    for pt in t.payment_types:
        line = f"   {h(pt.title(lang))}: {money(pt.net, lang)}"
        if pt.refunds:
            line += " " + _("(продажи {sales}, возвраты −{refunds})").format(
                sales=money(pt.sales, lang), refunds=money(pt.refunds, lang))
        lines.append(line)
    lines.append(_("🧾 Чеков: {count} · средний чек {avg}").format(
        count=t.sales_count, avg=money(t.average, lang)))
    if t.refunds_count:
        lines.append(_("↩️ Возвраты: {count} на {sum}").format(
            count=t.refunds_count, sum=money(t.refunds, lang)))
    if t.expenses_count:
        lines.append(_("💸 Расходы: {sum} (наличными {cash}, безнал {cashless})").format(
            sum=money(t.expenses, lang), cash=money(t.expenses_cash, lang),
            cashless=money(t.expenses_cashless, lang)))
    if t.service_count:
        lines.append(_("🏦 Служебные: внесено {cash_in} · изъято {cash_out}").format(
            cash_in=money(t.service_in, lang), cash_out=money(t.service_out, lang)))
    lines.append("")
    lines.append(_("🔧 Обращения: принято {accepted} · готово {ready} · выдано {done} · "
                   "отказ {refused}").format(accepted=t.tickets_accepted, ready=t.tickets_ready,
                                             done=t.tickets_done, refused=t.tickets_refused))
    if t.masters:
        lines.append(_("👷 Мастера (выдано · комиссия):"))
        for m in t.masters:
            pct = f" · {percent_text(m.bp_min, m.bp_max, lang)}" if m.master_id else ""
            lines.append(f"   {master_name(m)}: {m.tickets} · {money(m.commission, lang)}{pct}")
    if t.sms:
        lines.append(_("📩 SMS отправлено: {count} ({kinds})").format(
            count=t.sms_total, kinds=sms_summary(t.sms)))
    return lines


def drawer_line(report: Report, lang: str) -> str:
    if report.is_current:
        return _("🗄 В кассе сейчас: <b>{sum}</b>").format(sum=money(report.drawer, lang))
    if report.period.is_day:
        return _("🗄 В кассе на конец дня: {sum}").format(sum=money(report.drawer, lang))
    return _("🗄 В кассе на конец периода: {sum}").format(sum=money(report.drawer, lang))


def render_day(report: Report, lang: str, tz: ZoneInfo, now: datetime) -> str:
    day = report.period.start
    today = now.astimezone(tz).date()
    head = _("📊 <b>Итоги дня: {day}</b>").format(day=day_title(day, lang))
    if day == today:
        head += "\n" + _("сегодня, на {time}").format(time=f"{now.astimezone(tz):%H:%M}")
    elif day > today:
        head += "\n" + _("этот день ещё не наступил")
    lines = [head, "", *totals_block(report.total, lang), "", drawer_line(report, lang)]
    return "\n".join(lines)


def _line(bucket_start: date, bucket_end: date, t: Totals, unit: str, lang: str) -> str:
    if unit == "day":
        weekday = format_date(bucket_start, "EEE", locale=BABEL_LOCALES.get(lang, "ru_RU"))
        label = f"{bucket_start:%d.%m} {weekday}"
    else:
        label = f"{bucket_start:%d.%m}–{bucket_end:%d.%m}"
    if t.is_empty:
        return f"<code>{label}</code> · —"
    parts = [f"<code>{label}</code>", money(t.revenue, lang),
             _("{count} чек.").format(count=t.sales_count)]
    if t.refunds_count:
        parts.append(_("возвр. {count}").format(count=t.refunds_count))
    if t.expenses:
        parts.append(_("расх. {sum}").format(sum=money(t.expenses, lang)))
    parts.append(f"🔧{t.tickets_accepted}/✅{t.tickets_done}")
    return " · ".join(parts)


def render_period(report: Report, lang: str, tz: ZoneInfo) -> str:
    head = _("📊 <b>Отчёт: {period}</b> ({days} дн.)").format(
        period=period_title(report.period, lang), days=report.period.days)
    lines = [head, "", *totals_block(report.total, lang), "", drawer_line(report, lang)]
    if report.lines and not report.total.is_empty:
        lines += ["", _("📅 По дням:") if report.unit == "day" else _("📅 По месяцам:"),
                  _("<i>выручка · чеки · возвраты · расходы · 🔧 принято / ✅ выдано</i>")]
        lines += [_line(x.bucket.start, x.bucket.end, x.totals, report.unit, lang)
                  for x in report.lines]
    return "\n".join(lines)


def render_payroll(payroll: Payroll, lang: str) -> str:
    lines = [_("💰 <b>Зарплата мастеров: {period}</b>").format(
        period=period_title(payroll.period, lang))]
    if not payroll.masters:
        lines.append(_("За этот период нет выданных обращений."))
        return "\n".join(lines)
    lines.append("")
    for m in payroll.masters:
        if m.master_id is None:
            lines.append(_("{name}: {count} обращ., база {base} — без комиссии").format(
                name=master_name(m), count=m.tickets, base=money(m.base, lang)))
            continue
        lines.append(_("{name}: {count} обращ., база {base} × {pct} = <b>{sum}</b>").format(
            name=master_name(m), count=m.tickets, base=money(m.base, lang),
            pct=percent_text(m.bp_min, m.bp_max, lang), sum=money(m.commission, lang)))
        if m.adjustment:
            lines.append(_("   в т.ч. поправка после выдачи (возвраты, доплаты): {sum}").format(
                sum=money(m.adjustment, lang)))
    lines += ["", _("Итого к выплате: <b>{sum}</b>").format(sum=money(payroll.total, lang)),
              _("База и процент — как записаны при выдаче обращения "
                "(оплачено − возвраты − расходы).")]
    if any(m.adjustment for m in payroll.masters):
        lines.append(_("Возврат или доплата после выдачи меняет комиссию в день, когда "
                       "движутся деньги."))
    return "\n".join(lines)


def receipt_icon(kind: ReceiptKind) -> str:
    return "🟢" if kind == ReceiptKind.SALE else "↩️"


def receipt_button(row: ReceiptRow, tz: ZoneInfo, lang: str, *, with_date: bool) -> str:
    moment = row.paid_at.astimezone(tz)
    when = f"{moment:%d.%m %H:%M}" if with_date else f"{moment:%H:%M}"
    ticket = f" · [{row.ticket_number}]" if row.ticket_number is not None else ""
    sign = "−" if row.kind == ReceiptKind.REFUND else ""
    return f"{receipt_icon(row.kind)} №{row.id} · {when}{ticket} · {sign}{money(row.total, lang)}"


def render_receipts_head(period: Period, count: int, lang: str, filters: list[str]) -> str:
    lines = [_("🧾 <b>Чеки: {period}</b> · найдено {count}").format(
        period=period_title(period, lang), count=count)]
    if filters:
        lines.append(_("Фильтр: {filters}").format(filters=" · ".join(filters)))
    lines.append(_("Нажмите на чек, чтобы открыть его.") if count
                 else _("Чеков нет — попробуйте другой день или снимите фильтр."))
    return "\n".join(lines)


def render_receipt(detail: ReceiptDetail, lang: str, tz: ZoneInfo) -> str:
    """The receipt as every screen shows it (bot.views.receipts), from the reports' read."""
    return receipt_text(ReceiptFacts(
        receipt=detail.receipt, payment_types=detail.payment_types, refunds=detail.refunds,
        ticket_number=detail.ticket_number, master_name=detail.master_name,
        cashier_name=detail.cashier_name), lang, tz)
