"""The catalog: every text in the code is in ru and uk, translated, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES_DIR, extract_template, make_i18n

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+>")


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
        return read_po(po_file, locale=lang)


@pytest.fixture(scope="module")
def template_ids() -> set[str]:
    return {m.id for m in extract_template() if m.id}


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_catalog_is_complete(lang: str, template_ids: set[str]) -> None:
    catalog = _catalog(lang)
    missing = sorted(i for i in template_ids if not (catalog.get(i) and catalog.get(i).string))
    assert not missing, f"{lang}: {len(missing)} texts without translation, e.g. {missing[:5]}"


def test_uk_keeps_placeholders_and_markup(template_ids: set[str]) -> None:
    catalog = _catalog("uk")
    for msgid in template_ids:
        message = catalog.get(msgid)
        if message is None or not message.string:
            continue
        text = message.string
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid
        assert sorted(TAG.findall(msgid)) == sorted(TAG.findall(text)), msgid


def test_ru_mirrors_source(template_ids: set[str]) -> None:
    catalog = _catalog("ru")
    assert all(catalog.get(i).string == i for i in template_ids if catalog.get(i))


def test_runtime_translation() -> None:
    i18n = make_i18n("ru")
    assert i18n.gettext("👥 Клиенты", locale="uk") == "👥 Клієнти"
    assert i18n.gettext("👥 Клиенты", locale="ru") == "👥 Клиенты"


def test_a_read_only_package_still_gets_its_catalogs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An installed package run by an unprivileged user cannot write next to its code."""
    import shutil

    from bot import i18n

    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    compile_into = i18n.compile_catalogs

    def read_only(path: Path = locales) -> list[Path]:
        if path == locales:
            raise PermissionError(13, "Permission denied", str(path))
        return compile_into(path)

    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    monkeypatch.setattr(i18n, "compile_catalogs", read_only)
    translations = i18n.make_i18n("uk")
    with translations.context(), translations.use_locale("uk"):
        assert translations.gettext("Отменено.") != "Отменено."
    assert not list(locales.rglob("*.mo"))
