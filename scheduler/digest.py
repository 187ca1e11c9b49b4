"""The daily digest to owners: the day's totals and a PNG chart of the last 14 days.

`send_daily_digest` is a plain async job meant to run every few minutes (e.g. every 5); each
run decides by itself whether a digest is due, from the owner's setting `reports.digest`
(db.reports.settings):

- "shift" (default): after a cash shift closes (by hand or by the auto-close job). The digest
  covers the local day the shift was opened (a shift closed the next morning still recaps its
  own day). Each closure gets one digest; a second closure the same day sends the updated day.
- "HH:MM": every day at that local time. From 12:00 on it covers that day; before 12:00 it
  covers the day before (a morning recap).
- "off": never.

A digest is due only within CATCH_UP of its moment (a bot that was down longer skips it
rather than sending a stale one, and turning the digest on never sends yesterday's at once).
It is claimed in the database (`reports.digest_last`, under a row lock) in the same
transaction that reads the numbers, before anything is sent: two schedulers or a retry
never send it twice (at most once; a failed send is logged, not retried).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.views.charts import ChartDay, ChartLabels, revenue_chart
from bot.views.formatting import BABEL_LOCALES, h, money
from db.base import utcnow
from db.desk.models import Role, Staff
from db.money.models import Shift, ShiftStatus
from db.reports.periods import Period
from db.reports.queries import Line, Report, daily_series, day_report
from db.reports.settings import (
    DIGEST_OFF,
    DIGEST_SHIFT,
    ReportSettings,
    get_report_settings,
    lock_digest_marker,
    mark_digest,
)

log = logging.getLogger("scheduler.digest")

CATCH_UP = timedelta(hours=3)
CHART_DAYS = 14
MORNING_BEFORE = 12  # a digest time before noon recaps the previous day


async def _due(session: AsyncSession, conf: ReportSettings, now: datetime, settings: Settings
               ) -> date | None:
    """The day whose digest is due now, or None."""
    tz = settings.tz
    if conf.digest == DIGEST_OFF:
        return None
    if conf.digest == DIGEST_SHIFT:
        shift = await session.scalar(
            select(Shift).where(Shift.status == ShiftStatus.CLOSED, Shift.closed_at <= now)
            .order_by(Shift.closed_at.desc()).limit(1))
        if shift is None or shift.closed_at is None or now - shift.closed_at > CATCH_UP:
            return None
        if conf.last_at is not None and shift.closed_at <= conf.last_at:
            return None
        return shift.opened_at.astimezone(tz).date()
    at = conf.digest_time
    if at is None:
        return None
    local_day = now.astimezone(tz).date()
    moment = datetime.combine(local_day, at, tzinfo=tz)
    if moment > now:
        moment = datetime.combine(local_day - timedelta(days=1), at, tzinfo=tz)
    if now - moment > CATCH_UP:
        return None
    day = moment.date() - timedelta(days=1 if at.hour < MORNING_BEFORE else 0)
    if conf.last_day is not None and conf.last_day >= day:
        return None
    return day


def weekdays(lang: str) -> list[str]:
    monday = date(2024, 1, 1)
    locale = BABEL_LOCALES.get(lang, "ru_RU")
    return [format_date(monday + timedelta(days=i), "EEE", locale=locale) for i in range(7)]


def digest_text(report: Report, series: list[Line], lang: str) -> str:
    """The digest message (in the current locale)."""
    t = report.total
    day = report.period.start
    locale = BABEL_LOCALES.get(lang, "ru_RU")
    lines = [_("📊 <b>Сводка за {day}</b>").format(
        day=f"{format_date(day, 'EEE', locale=locale)}, {day:%d.%m.%Y}")]
    if t.is_empty:
        lines.append(_("Ни продаж, ни расходов, ни обращений."))
    else:
        by_type = ", ".join(f"{h(p.title(lang))} {money(p.net, lang)}" for p in t.payment_types)
        lines.append(_("💰 Выручка: <b>{sum}</b>").format(sum=money(t.revenue, lang))
                     + (f" ({by_type})" if by_type else ""))
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
    lines.append(_("🗄 В кассе: {sum}").format(sum=money(report.drawer, lang)))
    revenue = sum(x.totals.revenue for x in series)
    accepted = sum(x.totals.tickets_accepted for x in series)
    closed = sum(x.totals.tickets_closed for x in series)
    lines.append(_("📈 За {days} дн.: выручка {sum}, принято {accepted}, закрыто {closed}.")
                 .format(days=len(series), sum=money(revenue, lang), accepted=accepted,
                         closed=closed))
    return "\n".join(lines)


def digest_chart(series: list[Line], lang: str) -> bytes:
    """The 14-day chart (in the current locale)."""
    labels = ChartLabels(
        title=_("Выручка и обращения за {days} дней").format(days=len(series)),
        revenue=_("Выручка, ₴"), accepted=_("Принято"), closed=_("Закрыто"),
        weekdays=weekdays(lang))
    return revenue_chart([ChartDay(x.bucket.start, x.totals.revenue, x.totals.tickets_accepted,
                                   x.totals.tickets_closed) for x in series], labels)


async def send_daily_digest(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot, settings: Settings,
    now: datetime | None = None, *, i18n: I18n | None = None, day: date | None = None,
) -> int:
    """Send the digest to every active owner if one is due; with `day`, that day's digest
    now (a manual resend: not recorded as the scheduled one). Returns how many owners got it."""
    now = now or utcnow()
    tz = settings.tz
    async with session_factory() as session, session.begin():
        conf = await get_report_settings(session)
        if day is None:
            if await _due(session, conf, now, settings) is None:
                return 0
            await lock_digest_marker(session)
            conf = await get_report_settings(session)  # again, under the lock
            day = await _due(session, conf, now, settings)
            if day is None:
                return 0
            await mark_digest(session, day, now)
        report = await day_report(session, day, tz, now=now)
        series = await daily_series(session, Period(day - timedelta(days=CHART_DAYS - 1), day),
                                    tz)
        owners = list(await session.scalars(
            select(Staff).where(Staff.role == Role.OWNER, Staff.active.is_(True))
            .order_by(Staff.id)))
        recipients = [(o.tg_user_id, o.language or settings.default_language) for o in owners]
    if not recipients:
        return 0
    if i18n is None:
        from bot.i18n import make_i18n

        i18n = make_i18n(settings.default_language)
    rendered: dict[str, tuple[str, bytes, str]] = {}
    sent = 0
    for chat_id, lang in recipients:
        if lang not in rendered:
            with i18n.context(), i18n.use_locale(lang):
                text = digest_text(report, series, lang)
                png = await asyncio.to_thread(digest_chart, series, lang)
                caption = _("📈 Выручка и обращения за {days} дней, по {day}").format(
                    days=len(series), day=f"{day:%d.%m.%Y}")
            rendered[lang] = (text, png, caption)
        text, png, caption = rendered[lang]
        try:
            await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
            await bot.send_photo(chat_id, BufferedInputFile(png, filename=f"digest_{day}.png"),
                                 caption=caption, parse_mode=ParseMode.HTML)
            sent += 1
        except TelegramAPIError as exc:
            log.warning("daily digest for %s not delivered to %s: %s", day, chat_id, exc)
    log.info("daily digest for %s sent to %d of %d owners", day, sent, len(recipients))
    return sent

