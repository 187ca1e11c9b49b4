"""Texts of the owner's operations in chat: the import preview and result, backup captions."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.ops.import_file import ImportFileError, LoadedFile
from bot.views.formatting import clip, h
from db.desk.bulk_import import ImportSummary
from db.desk.import_rows import Refusal

SHOWN_REFUSALS = 15
VALUE_CLIP = 40


def field_title(name: str) -> str:
    return {
        "phone": _("телефон"), "extra_phone": _("второй телефон"), "name": _("имя"),
        "surname": _("фамилия"), "comment": _("комментарий"), "kind": _("тип устройства"),
        "brand": _("бренд"), "model": _("модель"), "serial": _("серийный номер / IMEI"),
    }.get(name, name)


def _phone_problem(reason: str) -> str:
    return {
        "missing": _("нет телефона"),
        "empty": _("нет телефона"),
        "not_a_number": _("не похоже на номер"),
        "too_short": _("слишком короткий номер"),
        "too_long": _("слишком длинный номер"),
    }.get(reason, _("такого номера не бывает"))


def refusal_text(refusal: Refusal) -> str:
    value = refusal.value[:VALUE_CLIP] + ("…" if len(refusal.value) > VALUE_CLIP else "")
    if refusal.reason == "too_long":
        problem = _("слишком длинный текст")
    else:
        problem = _phone_problem(refusal.reason.removeprefix(f"{refusal.field}_"))
    where = field_title(refusal.field)
    shown = f" «{h(value)}»" if value else ""
    return _("строка {line}: {field}{value} — {problem}").format(
        line=refusal.line, field=where, value=shown, problem=problem)


def file_error_text(exc: ImportFileError) -> str:
    return {
        "too_large": _("Файл больше 20 МБ — разделите его на части."),
        "xls": _("Это старый формат Excel (.xls): сохраните файл как .xlsx или .csv."),
        "unreadable": _("Не получилось прочитать файл: нужен CSV или XLSX."),
        "no_header": _("Файл пустой."),
        "no_phone_column": _("Не нашёл колонку с телефоном. Первая строка файла должна "
                             "содержать заголовки: «Телефон», «Имя», «Фамилия», «Модель»…"),
    }.get(exc.code, _("Не получилось прочитать файл."))


def _columns(loaded: LoadedFile) -> list[str]:
    used = ", ".join(f"{field_title(name)} ← «{h(header[:VALUE_CLIP])}»"
                     for name, header in loaded.columns.headers.items())
    lines = [_("Колонки: {columns}").format(columns=used)]
    if loaded.columns.ignored:
        lines.append(_("Не используются: {columns}").format(
            columns=", ".join(f"«{h(c[:VALUE_CLIP])}»" for c in loaded.columns.ignored[:10])))
    return lines


def preview_text(summary: ImportSummary, loaded: LoadedFile, file_name: str) -> str:
    lines = [_("📥 <b>Импорт клиентов</b> из «{name}»").format(name=h(file_name)), *_columns(
        loaded)]
    lines.append(_("Строк: {rows} (пустых {blank}). Импортируется: {ok}, не прочитано: {bad}.")
                 .format(rows=summary.rows, blank=summary.blank, ok=summary.importable,
                         bad=len(summary.refused)))
    lines.append(_("Клиенты: новых {new}, уже есть в базе {merged} (дополнятся {filled}); "
                   "повторов телефона в файле: {folded}.").format(
        new=summary.clients_new, merged=summary.clients_merged,
        filled=summary.clients_filled, folded=summary.folded))
    lines.append(_("Устройства: новых {new}, уже есть {known}.").format(
        new=summary.devices_new, known=summary.devices_known))
    if summary.refused:
        lines.append("\n" + _("<b>Не прочитаны</b> (эти строки пропускаются):"))
        lines += [f"• {refusal_text(r)}" for r in summary.refused[:SHOWN_REFUSALS]]
        if len(summary.refused) > SHOWN_REFUSALS:
            lines.append(_("… и ещё {count}").format(
                count=len(summary.refused) - SHOWN_REFUSALS))
    if summary.importable:
        lines.append("\n" + _("Существующие данные не перезаписываются: пустые поля "
                              "дополняются, новые устройства добавляются. Импортировать?"))
    else:
        lines.append("\n" + _("Импортировать нечего."))
    return clip("\n".join(lines))


def result_text(summary: ImportSummary, file_name: str) -> str:
    return _("✅ Импорт из «{name}» выполнен: новых клиентов {new}, дополнено {filled}, "
             "новых устройств {devices}. Пропущено строк: {bad}.").format(
        name=h(file_name), new=summary.clients_new, filled=summary.clients_filled,
        devices=summary.devices_new, bad=len(summary.refused))


def size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(1, size // 1024)} KB"
