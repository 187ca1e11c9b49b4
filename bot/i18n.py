"""The message catalog (gettext via aiogram's I18n; msgids are the Russian texts).

`.po` files are the source; `.mo` files are built from them by `make`, at image build, and on
start-up when stale — into a private temporary folder when the package folder is read-only
(an installed package run by an unprivileged user), so building the catalog is never a
manual step and never needs write access to the code.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"


def N_(text: str) -> str:
    """Marks a text for the catalog without translating it now (translated where shown)."""
    return text


def compile_catalogs(path: Path = LOCALES_DIR) -> list[Path]:
    """Build every stale `.mo` from its `.po`; returns what was written."""
    written = []
    for po_path in sorted(path.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


def make_i18n(default_locale: str = "ru") -> I18n:
    return I18n(path=_compiled_locales(), default_locale=default_locale, domain=DOMAIN)


def _compiled_locales() -> Path:
    try:
        compile_catalogs(LOCALES_DIR)
        return LOCALES_DIR
    except OSError:  # read-only package: compile a copy
        copy = Path(tempfile.mkdtemp(prefix="servicedesk-locales-"))
        shutil.copytree(LOCALES_DIR, copy, dirs_exist_ok=True)
        compile_catalogs(copy)
        return copy


KEYWORDS = {"_": None, "__": None, "N_": None, "gettext": None, "lazy_gettext": None}
SOURCES = ("bot", "handlers", "keyboards", "scheduler")
SOURCE_LANGUAGE = "ru"  # msgids are Russian; the ru catalog mirrors them


def extract_template(root: Path | None = None) -> Catalog:
    """Every catalog text in the source tree (what `_()`, `__()` and `N_()` mark)."""
    from babel.messages.extract import extract_from_dir

    root = root or LOCALES_DIR.parent.parent
    template = Catalog(project="servicedesk-bot")
    for folder in SOURCES:
        if not (root / folder).exists():
            continue
        for _file, lineno, message, _comments, _context in extract_from_dir(
            root / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            template.add(message, locations=[(f"{folder}/{_file}", lineno)])
    return template


def update_catalogs() -> dict[str, int]:
    """Merge new texts into the ru/uk `.po` files; returns the count of untranslated texts."""
    missing = {}
    for lang in ("ru", "uk"):
        template = extract_template()  # fresh: update() shares message objects with it
        po_path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="servicedesk-bot")
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        for message in catalog:
            if message.id and lang == SOURCE_LANGUAGE and not message.string:
                message.string = message.id
            message.flags.discard("fuzzy")
            message.locations = []
        catalog.obsolete.clear()
        with po_path.open("wb") as po_file:
            write_po(po_file, catalog, omit_header=False, sort_output=True, no_location=True,
                     width=100)
        missing[lang] = sum(1 for m in catalog if m.id and not m.string)
    return missing


if __name__ == "__main__":  # `python -m bot.i18n [update]` (used by make)
    import sys

    if sys.argv[1:2] == ["update"]:
        print(f"texts without translation: {update_catalogs()}")
    for written_path in compile_catalogs():
        print(f"compiled {written_path}")
