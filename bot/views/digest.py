"""The owners' daily digest as a message and a chart (texts in the current locale: call inside
`i18n.use_locale`). What it contains and when it goes: db.reports.digest."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.views.charts import ChartDay, ChartLabels, revenue_chart
from bot.views.formatting import BABEL_LOCALES, h, money
from db.reports.digest import DigestNumbers
from db.reports.queries import Line, Totals


def weekdays(lang: str) -> list[str]:
    monday = date(2024, 1, 1)
    locale = BABEL_LOCALES.get(lang, "ru_RU")
    return [format_date(monday + timedelta(days=i), "EEE", locale=locale) for i in range(7)]


def _totals_lines(t: Totals, lang: str) -> list[str]:
    if t.is_empty:
        return [_("Ни продаж, ни расходов, ни обращений.")]
    by_type = ", ".join(f"{h(p.title(lang))} {money(p.net, lang)}" for p in t.payment_types)
    lines = [_("💰 Выручка: <b>{sum}</b>").format(sum=money(t.revenue, lang))
             + (f" ({by_type})" if by_type else "")]
    receipts = _("🧾 Чеков: {count} · средний {avg}").format(
        count=t.sales_count, avg=money(t.average, lang))
    if t.refunds_count:
        receipts += " · " + _("возвраты {count} на {sum}").format(
            count=t.refunds_count, sum=money(t.refunds, lang))
    lines.append(receipts)
    if t.expenses_count:
        lines.append(_("💸 Расходы: {sum}").format(sum=money(t.expenses, lang)))
    lines.append(_("🔧 Принято {accepted} · готово {ready} · выдано {done} · отказ {refused}")
                 .format(accepted=t.tickets_accepted, ready=t.tickets_ready,
                         done=t.tickets_done, refused=t.tickets_refused))
    if t.masters:
        nobody = _("без мастера")
        people = "; ".join(
            f"{h(m.name) if m.master_id is not None else nobody} {m.tickets} · "
            f"{money(m.commission, lang)}" for m in t.masters)
        lines.append(f"👷 {people}")
    return lines


def _series_line(series: list[Line], lang: str) -> str:
    revenue = sum(x.totals.revenue for x in series)
    accepted = sum(x.totals.tickets_accepted for x in series)
    closed = sum(x.totals.tickets_closed for x in series)
    return _("📈 За {days} дн.: выручка {sum}, принято {accepted}, закрыто {closed}.").format(
        days=len(series), sum=money(revenue, lang), accepted=accepted, closed=closed)


def digest_text(numbers: DigestNumbers, lang: str) -> str:
    day = numbers.report.period.start
    locale = BABEL_LOCALES.get(lang, "ru_RU")
    lines = [_("📊 <b>Сводка за {day}</b>").format(
        day=f"{format_date(day, 'EEE', locale=locale)}, {day:%d.%m.%Y}")]
    lines += _totals_lines(numbers.report.total, lang)
    lines.append(_("🗄 В кассе: {sum}").format(sum=money(numbers.report.drawer, lang)))
    lines.append(_series_line(numbers.series, lang))
    return "\n".join(lines)


def digest_chart(numbers: DigestNumbers, lang: str) -> bytes:
    """The PNG of the last days (~0.1 s: call through `asyncio.to_thread`)."""
    series = numbers.series
    labels = ChartLabels(
        title=_("Выручка и обращения за {days} дней").format(days=len(series)),
        revenue=_("Выручка, ₴"), accepted=_("Принято"), closed=_("Закрыто"),
        weekdays=weekdays(lang))
    return revenue_chart([ChartDay(x.bucket.start, x.totals.revenue, x.totals.tickets_accepted,
                                   x.totals.tickets_closed) for x in series], labels)


def digest_caption(numbers: DigestNumbers) -> str:
    return _("📈 Выручка и обращения за {days} дней, по {day}").format(
        days=len(numbers.series), day=f"{numbers.day:%d.%m.%Y}")
