"""Reports through the real Dispatcher: /today and /report with dates and bad dates, the
receipts list with paging and filters, exports as documents, payroll, who may see what."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendDocument, SendMessage
from aiogram.types import FSInputFile
from openpyxl import load_workbook
from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from db.base import utcnow
from db.desk.models import Role
from db.reports import export_rows
from db.reports.models import ReportRollup
from handlers.reports import receipts_export
from keyboards.reports import (
    ExportCb,
    ExportFormat,
    ExportWhat,
    ReceiptOpenCb,
    ReceiptsCb,
    ReceiptsView,
    ReportAction,
    ReportCb,
    ReportSettingsCb,
)
from scheduler.export_days import build_export_days
from scheduler.rollups import build_rollups
from tests.factories import make_staff
from tests.handler_kit import OWNER_ID, Desk
from tests.test_reports import _busy_day
from tests.test_reports_support import KYIV, Shop, kyiv

MASTER_ID = 2
MANAGER_ID = 3
STRANGER_ID = 666
NBSP = "\u00a0"


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


async def _seed(factory: async_sessionmaker[AsyncSession]) -> dict[str, object]:
    async with factory() as s, s.begin():
        shop = await Shop.create(s, owner_tg=OWNER_ID)
        made = await _busy_day(shop)
        await make_staff(s, Role.MANAGER, name="Оля", tg_user_id=MANAGER_ID)
        await make_staff(s, Role.MASTER, name="Коля", tg_user_id=MASTER_ID)
        made["shop"] = shop
        return made


def _document(desk: Desk) -> tuple[str, bytes]:
    """The last document sent: its name and bytes (read by the recording session when it was
    sent: the export's temporary file is gone by now)."""
    sent = desk.bot.last(SendDocument)
    assert isinstance(sent.document, FSInputFile)
    assert not Path(sent.document.path).exists()  # the temporary file is removed
    return sent.document.filename or "", list(desk.bot.session.uploads.values())[-1]


def _alert(desk: Desk) -> str:
    return desk.bot.last(AnswerCallbackQuery).text or ""


async def test_today_for_a_date_and_today(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    text = (await desk.send(OWNER_ID, "/today 02.03.2026"))[-1]
    assert "Итоги дня: пн, 02.03.2026" in text
    assert f"Выручка: <b>1{NBSP}750,22{NBSP}₴</b>" in text
    assert f"Наличные: 1{NBSP}600,00{NBSP}₴" in text
    assert f"Карта: 150,22{NBSP}₴ (продажи 250,33{NBSP}₴, возвраты −100,11{NBSP}₴)" in text
    assert f"Чеков: 3 · средний чек 616,78{NBSP}₴" in text
    assert f"Возвраты: 1 на 100,11{NBSP}₴" in text
    assert f"Расходы: 215,00{NBSP}₴" in text
    assert f"внесено 1{NBSP}000,00{NBSP}₴ · изъято 300,00{NBSP}₴" in text
    assert "принято 2 · готово 1 · выдано 1 · отказ 1" in text
    assert f"Петя: 1 · 450,07{NBSP}₴ · 30 %" in text
    assert f"В кассе на конец дня: 2{NBSP}100,00{NBSP}₴" in text
    assert "◀ 01.03" in desk.buttons(OWNER_ID) and "03.03 ▶" in desk.buttons(OWNER_ID)
    # other spellings of the same day
    for spelling in ("2026-03-02", "02.03.26", "2.3.2026"):
        assert "02.03.2026" in (await desk.send(OWNER_ID, f"/today {spelling}"))[-1]
    # today: "now" and the drawer now
    text = (await desk.send(OWNER_ID, "/today"))[-1]
    assert "сегодня, на" in text and "В кассе сейчас" in text
    yesterday = (utcnow() - timedelta(days=1))
    assert "Итоги дня" in (await desk.send(OWNER_ID, "/today вчера"))[-1]
    assert yesterday  # the day before today, whatever today is


async def test_today_bad_dates(desk: Desk) -> None:
    text = (await desk.send(OWNER_ID, "/today 31.02.2026"))[-1]
    assert "Такой даты нет: «31.02.2026»" in text and "Примеры: /today 20.11" in text
    text = (await desk.send(OWNER_ID, "/today завтра"))[-1]
    assert "Не понял дату «завтра»" in text and "/today вчера" in text
    text = (await desk.send(OWNER_ID, "/today 01.03 02.03"))[-1]
    assert "Слишком много дат" in text
    text = (await desk.send(OWNER_ID, "/report 01.01.2020 01.01.2026"))[-1]
    assert "Период слишком длинный" in text and "Примеры: /report 01.11 15.11" in text
    text = (await desk.send(OWNER_ID, "/report 1.1 2.2 3.3"))[-1]
    assert "Слишком много дат" in text
    text = (await desk.send(OWNER_ID, "/report <b>"))[-1]
    assert "«&lt;b&gt;»" in text  # what was typed is escaped


async def test_report_period_lines_and_navigation(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    text = (await desk.send(OWNER_ID, "/report 01.03.2026 03.03.2026"))[-1]
    assert "Отчёт: 01.03.2026 – 03.03.2026</b> (3 дн.)" in text
    assert f"Выручка: <b>1{NBSP}820,22{NBSP}₴</b>" in text  # + the 00:10 sale of 3 March
    assert "По дням:" in text
    assert "<code>01.03 вс</code> · —" in text
    assert f"<code>02.03 пн</code> · 1{NBSP}750,22{NBSP}₴ · 3 чек. · возвр. 1" in text
    assert f"<code>03.03 вт</code> · 70,00{NBSP}₴ · 1 чек." in text
    texts = await desk.tap(OWNER_ID, "◀")
    assert "26.02.2026 – 28.02.2026" in texts[-1] and "Ни продаж" in texts[-1]
    # one date is that day
    assert "Итоги дня: пн, 02.03.2026" in (await desk.send(OWNER_ID, "/report 02.03.2026"))[-1]
    # a named period and no arguments
    assert "Отчёт:" in (await desk.send(OWNER_ID, "/report прошлый месяц"))[-1]
    text = (await desk.send(OWNER_ID, "/report"))[-1]
    assert "Отчеты" in text and "🧾 Чеки" in desk.buttons(OWNER_ID)
    assert "🗓 Прошлый месяц" in desk.buttons(OWNER_ID)


async def test_period_typed_in_a_form(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    await desk.send(OWNER_ID, "📊 Отчеты")
    texts = await desk.tap(OWNER_ID, "Другой период")
    assert "Напишите день или период" in texts[-1]
    assert "Не понял дату «завтра»" in (await desk.send(OWNER_ID, "завтра"))[-1]
    assert "Нужны даты текстом" in (await desk.photo(OWNER_ID, "ph1"))[-1]
    text = (await desk.send(OWNER_ID, "01.03.2026 - 03.03.2026"))[-1]
    assert "Отчёт: 01.03.2026 – 03.03.2026" in text
    # the form is over: typing now searches clients again
    assert "Отчёт" not in (await desk.send(OWNER_ID, "01.03.2026"))[-1]


async def test_receipts_list_paging_filters_and_receipt(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    made = await _seed(session_factory)
    async with session_factory() as s, s.begin():
        shop: Shop = made["shop"]  # type: ignore[assignment]
        owner = await s.get(type(shop.owner), shop.owner.id)
        helper = Shop(s, owner, shop.master, shop.cash, shop.card)
        for i in range(8):  # 12 receipts on 2 March in all
            await helper.sale(kyiv(2026, 3, 2, 20, i), 100 + i)
    await desk.send(OWNER_ID, "/today 02.03.2026")
    texts = await desk.tap(OWNER_ID, "Чеки дня")
    assert "Чеки: пн, 02.03.2026</b> · найдено 12" in texts[-1]
    buttons = desk.buttons(OWNER_ID)
    assert buttons[0].startswith("🟢 №") and "23:30" in buttons[0]
    assert "1/2" in buttons and "▶" in buttons
    texts = await desk.tap(OWNER_ID, "▶")
    buttons = desk.buttons(OWNER_ID)
    assert "2/2" in buttons and any(b.startswith("↩️ №") for b in buttons)
    assert any(f"· [{made['t1'].number}] ·" in b for b in buttons)  # type: ignore[attr-defined]
    # refunds only
    texts = await desk.tap(OWNER_ID, "Только возвраты")
    assert "найдено 1" in texts[-1] and "только возвраты" in texts[-1]
    back_id = made["refund"].id  # type: ignore[attr-defined]
    texts = await desk.tap(OWNER_ID, f"↩️ №{back_id}")
    assert f"Возврат №{back_id}</b> к чеку №{made['r2'].id}" in texts[-1]  # type: ignore[attr-defined]
    assert "↩️ Возврат" not in desk.buttons(OWNER_ID)
    texts = await desk.tap(OWNER_ID, "Исходный чек")
    r2 = made["r2"]
    assert f"Чек №{r2.id}</b> · продажа" in texts[-1]  # type: ignore[attr-defined]
    assert "Замена" not in texts[-1] and "Работа" in texts[-1]
    assert f"— 3 × 100,11{NBSP}₴ = 300,33{NBSP}₴" in texts[-1]
    assert f"Наличные: 100,00{NBSP}₴" in texts[-1] and f"Карта: 200,33{NBSP}₴" in texts[-1]
    assert "Возвраты по этому чеку" in texts[-1] and "мастер Петя" in texts[-1]
    data, _message = desk.find_button(OWNER_ID, "↩️ Возврат")
    assert data == f"rf:start:{r2.id}:0"  # type: ignore[attr-defined]
    data, _message = desk.find_button(OWNER_ID, "🧾 Чек")
    assert data == f"rp:{r2.id}:0"  # type: ignore[attr-defined]
    # back to the list (refunds filter kept), then the payment type filter
    texts = await desk.tap(OWNER_ID, "К списку")
    assert "только возвраты" in texts[-1]
    await desk.tap(OWNER_ID, "Только возвраты")
    await desk.tap(OWNER_ID, "💳 Оплата")
    texts = await desk.tap(OWNER_ID, "Карта")
    assert "найдено 3" in texts[-1] and "💳 Карта" in texts[-1]  # r2, its refund, r3
    await desk.tap(OWNER_ID, "👤 Мастер")
    texts = await desk.tap(OWNER_ID, "Петя")
    assert "найдено 2" in texts[-1]  # r2 and its refund (the 23:30 sale has no ticket)
    # a cash receipt with change
    await desk.tap(OWNER_ID, "💳 Карта")
    await desk.tap(OWNER_ID, "Наличные")
    texts = await desk.tap(OWNER_ID, f"№{made['r1'].id}")  # type: ignore[attr-defined]
    assert f"(получено 2{NBSP}000,00{NBSP}₴, сдача 500,00{NBSP}₴)" in texts[-1]
    # forged callbacks
    await desk.press(OWNER_ID, "rco:999999:0:0:0:0:0:0")
    assert "Не найдено" in _alert(desk)
    await desk.press(OWNER_ID, "rcl:l:5:1:0:0:0:0")
    assert "устарела" in _alert(desk)


async def test_exports_are_documents(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    await desk.send(OWNER_ID, "/report 01.03.2026 03.03.2026")
    await desk.tap(OWNER_ID, "📄 CSV")
    assert "Готовлю файл" in _alert(desk)
    name, data = _document(desk)
    assert name == "receipts_2026-03-01_2026-03-03.csv"
    assert f"5 чек., 5 строк, итого 1{NBSP}820,22{NBSP}₴" in (
        desk.bot.last(SendDocument).caption or "")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 5 and sum(float(r["Сумма"]) for r in rows) == pytest.approx(1820.22)
    # one status message: posted at 0 %, ends as "готово"
    assert desk.bot.last(SendMessage).text == "📤 Готовлю выгрузку… 0 %"
    assert desk.bot.last(EditMessageText).text == "✅ Выгрузка готова."
    await desk.tap(OWNER_ID, "📊 XLSX")
    name, data = _document(desk)
    assert name == "receipts_2026-03-01_2026-03-03.xlsx"
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Чеки", "Итоги", "По дням"]
    # payroll view and its export
    texts = await desk.tap(OWNER_ID, "💰 Зарплата")
    assert "Зарплата мастеров: 01.03.2026 – 03.03.2026" in texts[-1]
    assert f"Петя: 1 обращ., база 1{NBSP}500,22{NBSP}₴ × 30 % = <b>450,07{NBSP}₴</b>" in texts[-1]
    assert f"Итого к выплате: <b>450,07{NBSP}₴</b>" in texts[-1]
    await desk.tap(OWNER_ID, "📊 XLSX")
    sent = desk.bot.last(SendDocument)
    assert sent.document.filename == "payroll_2026-03-01_2026-03-03.xlsx"  # type: ignore[union-attr]
    await desk.tap(OWNER_ID, "📄 CSV")
    rows = list(csv.reader(io.StringIO(
        desk.bot.last(SendDocument).document.data.decode("utf-8-sig"))))  # type: ignore[union-attr]
    assert rows[1] == ["Петя", "1", "1500.22", "30", "450.07"]
    # an empty period sends no file
    desk.bot.clear()
    await desk.press(OWNER_ID, "rex:l:c:730000:730001")
    assert "чеков нет" in _alert(desk) and not desk.bot.calls(SendDocument)
    await desk.press(OWNER_ID, "rex:z:c:730000:730001")
    assert "устарела" in _alert(desk)


async def test_receipts_export_progress_zip_and_xlsx_over_the_limit(  # type: ignore[no-untyped-def]
        desk: Desk, session_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small limits stand in for a year: pages of 2 receipts, every page may edit the status
    (no 2-second wait), a zip beyond 2 lines, XLSX lines up to 2."""
    await _seed(session_factory)
    monkeypatch.setattr(export_rows, "PAGE_RECEIPTS", 2)
    monkeypatch.setattr(receipts_export, "PROGRESS_EVERY", 0)
    monkeypatch.setattr(receipts_export, "CSV_PLAIN_MAX", 2)
    monkeypatch.setattr(receipts_export, "XLSX_LINES_MAX", 2)
    await desk.send(OWNER_ID, "/report 01.03.2026 03.03.2026")
    await desk.tap(OWNER_ID, "📄 CSV")
    status = desk.bot.last(SendMessage)
    edits = [m.text for m in desk.bot.calls(EditMessageText)]
    assert {m.message_id for m in desk.bot.calls(EditMessageText)} == {_status_id(desk)}
    assert status.text == "📤 Готовлю выгрузку… 0 %"
    assert edits == ["📤 Готовлю выгрузку… 40 %", "📤 Готовлю выгрузку… 80 %",
                     "📤 Готовлю выгрузку… 99 %", "✅ Выгрузка готова."]
    name, data = _document(desk)
    assert name == "receipts_2026-03-01_2026-03-03.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["receipts_2026-03-01_2026-03-03.csv"]
        text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 5 and sum(float(r["Сумма"]) for r in rows) == pytest.approx(1820.22)
    # XLSX over its limit: the report's sheets as XLSX, the lines as the zipped CSV
    await desk.tap(OWNER_ID, "📊 XLSX")
    sent = desk.bot.calls(SendDocument)
    assert [d.document.filename for d in sent] == [  # type: ignore[union-attr]
        "receipts_2026-03-01_2026-03-03.xlsx", "receipts_2026-03-01_2026-03-03.zip"]
    summary = load_workbook(io.BytesIO(list(desk.bot.session.uploads.values())[-2]))
    assert summary.sheetnames == ["Итоги", "По дням"]
    done = desk.bot.last(EditMessageText).text or ""
    assert done.startswith("✅ Выгрузка готова. В XLSX — итоги периода; строк чеков 5 — больше 2")


async def test_receipts_export_from_cached_days_is_the_same_file(  # type: ignore[no-untyped-def]
        desk: Desk, session_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler's texts of closed days (db.reports.export_days) make the same file as
    the rows, with the same progress; the receipt lines are not read."""
    await _seed(session_factory)
    monkeypatch.setattr(receipts_export, "PROGRESS_EVERY", 0)
    await desk.send(OWNER_ID, "/report 01.03.2026 03.03.2026")
    await desk.tap(OWNER_ID, "📄 CSV")
    _, from_rows = _document(desk)
    await build_rollups(session_factory, KYIV, now=kyiv(2026, 3, 10))
    async with session_factory() as s, s.begin():  # only these days: fewer texts to make
        await s.execute(delete(ReportRollup).where(or_(
            ReportRollup.lo < kyiv(2026, 3, 1, 0), ReportRollup.lo >= kyiv(2026, 3, 4, 0))))
    assert await build_export_days(session_factory, KYIV, make_i18n("ru"), "ru") == 3
    desk.bot.clear()
    await desk.tap(OWNER_ID, "📄 CSV")
    _, from_texts = _document(desk)
    assert from_texts == from_rows
    assert [m.text for m in desk.bot.calls(EditMessageText)] == [
        "📤 Готовлю выгрузку… 80 %", "📤 Готовлю выгрузку… 99 %", "✅ Выгрузка готова."]


def _status_id(desk: Desk) -> int:
    """The id the recording session gave the status message (the one posted at 0 %)."""
    return next(m.message_id for m in desk.messages.values()
                if m.text and m.text.startswith(("📤 Готовлю", "✅ Выгрузка")))


async def test_receipts_export_failure_tells_an_incident_code(  # type: ignore[no-untyped-def]
        desk: Desk, session_factory, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    await _seed(session_factory)

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(receipts_export, "fill", broken)
    await desk.send(OWNER_ID, "/report 01.03.2026 03.03.2026")
    await desk.tap(OWNER_ID, "📄 CSV")
    text = desk.bot.last(EditMessageText).text or ""
    assert text.startswith("⚠️ Выгрузка не удалась.") and not desk.bot.calls(SendDocument)
    code = text.rsplit(" ", 1)[-1].rstrip(".")
    assert any(f"incident {code}" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_who_sees_what(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    # masters: no access to anything here
    for command in ("/today", "/report", "/today 02.03.2026", "📊 Отчеты"):
        text = (await desk.send(MASTER_ID, command))[-1]
        assert "Нет доступа" in text, command
    for data in ("rep:day:739000:739000", "rcl:l:739000:739000:0:0:0:0",
                 "rco:1:739000:739000:0:0:0:0", "rex:l:c:739000:739000", "rst:mgr:"):
        await desk.press(MASTER_ID, data)
        assert "Нет доступа" in _alert(desk), data
    # strangers
    assert "Немає доступу" in (await desk.send(STRANGER_ID, "/today"))[-1]  # client language
    await desk.press(STRANGER_ID, "rep:day:739000:739000")
    assert "Немає доступу" in _alert(desk)
    # managers: the receipts, not the totals, until the owner allows it
    text = (await desk.send(MANAGER_ID, "/today"))[-1]
    assert "Итоги и отчёты видит владелец" in text
    assert "видит владелец" in (await desk.send(MANAGER_ID, "/report 01.03.2026"))[-1]
    await desk.send(MANAGER_ID, "📊 Отчеты")
    assert desk.buttons(MANAGER_ID) == ["🧾 Чеки"]
    texts = await desk.tap(MANAGER_ID, "Чеки")
    assert "Чеки:" in texts[-1] and "← Отчеты" in desk.buttons(MANAGER_ID)
    await desk.press(MANAGER_ID, "rep:day:739000:739000")
    assert "видит владелец" in _alert(desk)
    await desk.press(MANAGER_ID, "rex:l:c:739000:739000")
    assert "видит владелец" in _alert(desk)
    await desk.press(MANAGER_ID, "rst:mgr:")
    assert "Нет доступа" in _alert(desk)
    # the owner opens the totals to managers in /settings
    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "Отчёты и сводка")
    assert "Менеджеры видят итоги и отчёты: нет" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Менеджеры видят")
    assert "Менеджеры видят итоги и отчёты: да" in texts[-1]
    text = (await desk.send(MANAGER_ID, "/today 02.03.2026"))[-1]
    assert f"Выручка: <b>1{NBSP}750,22{NBSP}₴</b>" in text
    await desk.send(MANAGER_ID, "📊 Отчеты")
    assert "📅 Сегодня" in desk.buttons(MANAGER_ID)
    # ... and closes them again
    await desk.tap(OWNER_ID, "Менеджеры видят")
    assert "видит владелец" in (await desk.send(MANAGER_ID, "/today"))[-1]


async def test_digest_settings_form(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "Отчёты и сводка")
    assert "Ежедневная сводка владельцам: после закрытия кассовой смены" in texts[-1]
    texts = await desk.tap(OWNER_ID, "21:00")
    assert "каждый день в 21:00" in texts[-1]
    await desk.tap(OWNER_ID, "Своё время")
    assert "ЧЧ:ММ" in (await desk.send(OWNER_ID, "25:00"))[-1]
    assert "ЧЧ:ММ" in (await desk.photo(OWNER_ID, "ph"))[-1]
    text = (await desk.send(OWNER_ID, "21.30"))[-1]
    assert "каждый день в 21:30" in text
    texts = await desk.tap(OWNER_ID, "выключена")
    assert "сводка владельцам: выключена" in texts[-1]
    assert "Настройки" in (await desk.tap(OWNER_ID, "← Настройки"))[-1]


async def test_today_messages_fit_and_sections_button(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    await desk.send(OWNER_ID, "/start")
    keyboard = desk.bot.last(SendMessage).reply_markup
    texts = [b.text for row in keyboard.keyboard for b in row]  # type: ignore[union-attr]
    assert "📊 Отчеты" in texts
    text = (await desk.send(OWNER_ID, "/report 01.01.2026 31.12.2026"))[-1]
    assert "По месяцам:" in text and "(365 дн.)" in text and len(text) < 4096
    assert "<code>01.03–31.03</code>" in text


def test_payloads_fit_telegram_and_round_trip() -> None:
    big = 10**10 - 1  # ids far beyond any shop's
    last = date.max.toordinal()
    factories = [
        ReportCb(action=ReportAction.PAYROLL, start=last, end=last),
        ReceiptsCb(view=ReceiptsView.MASTER, start=last, end=last, pay_type=big, master=big,
                   refunds=True, page=99999),
        ReceiptOpenCb(id=big, start=last, end=last, pay_type=big, master=big, refunds=True,
                      page=99999),
        ExportCb(what=ExportWhat.PAYROLL, fmt=ExportFormat.XLSX, start=last, end=last),
        ReportSettingsCb.digest("23:59"),
    ]
    for data in factories:
        packed = data.pack()
        assert len(packed.encode()) <= 64, packed
        assert type(data).unpack(packed) == data
    assert ReportSettingsCb.unpack(ReportSettingsCb.digest("09:00").pack()).digest_mode == "09:00"
    assert ReportSettingsCb.digest("shift").digest_mode == "shift"


async def test_a_stale_form_changes_nothing(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await _seed(session_factory)
    await desk.send(OWNER_ID, "📊 Отчеты")
    await desk.tap(OWNER_ID, "Другой период")
    state = desk.dp.fsm.get_context(desk.bot, OWNER_ID, OWNER_ID)
    await state.set_data({})  # what a release before typed forms kept
    text = (await desk.send(OWNER_ID, "01.03.2026 03.03.2026"))[-1]
    assert "Форма устарела" in text and "Отчёт:" not in text
    assert await state.get_state() is None
    # the digest time form: the setting stays as it was
    await desk.send(OWNER_ID, "/settings")
    await desk.tap(OWNER_ID, "Отчёты и сводка")
    await desk.tap(OWNER_ID, "Своё время")
    await state.set_data({"ticket_id": 1})  # another form's data
    assert "Форма устарела" in (await desk.send(OWNER_ID, "21:30"))[-1]
    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "Отчёты и сводка")
    assert "после закрытия кассовой смены" in texts[-1] and "21:30" not in texts[-1]
