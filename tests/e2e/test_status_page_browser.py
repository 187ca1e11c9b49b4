"""The status page in a real headless browser (Chromium from the system packages), as a client
without Telegram opens it from an SMS on a phone: rendered DOM and a screenshot, saved in
test-output/ for a person to look at. Skipped with the reason when Chromium is not installed
(on Debian: `apt-get install chromium`)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from bot.web import build_web_app, database_check
from db.desk.models import Role, Ticket
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import test_settings as make_settings
from tests.process_kit import ROOT, free_port
from tests.test_money_support import receipt_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUTPUT = ROOT / "test-output"
PHONE = (390, 844)  # a typical phone screen, CSS pixels

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                "(Debian: apt-get install chromium)")


async def chromium(url: str, profile: Path, *args: str) -> str:
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
        f"--window-size={PHONE[0]},{PHONE[1]}", *args, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0
    return out.decode()


@pytest.fixture
async def site(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[str]:
    settings = make_settings(shop_address="Київ, вул. Хрещатик, 1",
                             shop_hours="Пн–Пт 10:00–19:00, Сб 10:00–15:00")
    app = build_web_app(settings, session_factory, make_i18n("ru"), "servicedesk_test_bot",
                        {"database": database_check(session_factory)})
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def ticket(session_factory: async_sessionmaker[AsyncSession]) -> Ticket:
    async with session_factory() as session, session.begin():
        master = await make_staff(session, Role.MASTER)
        client = await make_client(session, name="Олена")
        ticket = await make_ticket(session, master, client, lock_code="LOCK-7391")
        await receipt_for(session, master, 185000, ticket)
        return ticket


def looks_like_a_page(png: Path) -> None:
    with Image.open(png) as image:
        assert image.size == PHONE
        colors = image.convert("RGB").getcolors(maxcolors=100_000)
        assert colors is None or len(colors) > 20  # text and a card, not a blank screen


async def test_a_client_opens_the_status_page_on_a_phone(site: str, ticket: Ticket,
                                                         tmp_path: Path) -> None:
    OUTPUT.mkdir(exist_ok=True)
    url = f"{site}/s/{ticket.public_token}"
    dom = await chromium(url, tmp_path / "profile", "--dump-dom")
    assert f"Звернення №{ticket.number}" in dom and "Apple iPhone 12" in dom
    assert "1 850,00" in dom.replace("&nbsp;", " ") and "Хрещатик" in dom
    assert f"start=st_{ticket.public_token}" in dom
    assert "LOCK-7391" not in dom and "Не включается" not in dom  # nothing staff-only
    shot = OUTPUT / "status-page.png"
    await chromium(url, tmp_path / "profile", f"--screenshot={shot}")
    looks_like_a_page(shot)


async def test_a_wrong_link_shows_nothing(site: str, ticket: Ticket, tmp_path: Path) -> None:
    OUTPUT.mkdir(exist_ok=True)
    url = f"{site}/s/{ticket.public_token[:-2]}xx"
    dom = await chromium(url, tmp_path / "profile", "--dump-dom")
    assert "Apple" not in dom and str(ticket.public_token) not in dom
    shot = OUTPUT / "status-page-wrong-link.png"
    await chromium(url, tmp_path / "profile", f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == PHONE
