"""`python -m bot` as a real process against the in-test Bot API emulator: start, stop with
SIGTERM, kill with SIGKILL, restart — for the shutdown, crash and two-instance tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Comment, Role
from db.engine import create_engine, create_session_factory
from db.updates import ProcessedUpdate
from tests.e2e_kit import TOKEN
from tests.emulators.telegram import TelegramEmulator
from tests.factories import make_staff, make_ticket
from tests.handler_kit import OWNER_ID

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """One `python -m bot`; its log goes to `log_dir/bot-<n>.log` (one file per start)."""

    emulator: TelegramEmulator
    db_url: str
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    web_port: int = field(default_factory=free_port)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
        env.update({
            "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": self.emulator.base_url,
            "DATABASE_URL": self.db_url, "OWNER_IDS": str(OWNER_ID), "SMS_PROVIDER": "log",
            "FISCAL_PROVIDER": "none", "SHIFT_AUTOCLOSE_AT": "", "LOG_FORMAT": "json",
            "WEB_LISTEN": f"127.0.0.1:{self.web_port}", "REDIS_URL": "",
            "SHOP_NAME": "Ремонт-Сервис",
        })
        env.update(self.env)
        return env

    async def start(self) -> None:
        """Start and wait until it polls (a getUpdates is parked at the emulator)."""
        self.starts += 1
        log = (self.log_dir / f"bot-{self.starts}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=self.environment(),
            stdout=log, stderr=asyncio.subprocess.STDOUT)
        log.close()
        waiter = asyncio.create_task(self.emulator.wait_polling(timeout=300))
        exited = asyncio.create_task(self.process.wait())
        done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited in done:
            waiter.cancel()
            raise AssertionError(f"the bot exited with {self.process.returncode}: "
                                 f"{self.last_log()[-2000:]}")
        exited.cancel()
        await waiter

    async def terminate(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        """SIGTERM and the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    def last_log(self) -> str:
        return (self.log_dir / f"bot-{self.starts}.log").read_text(errors="replace")


@asynccontextmanager
async def open_db(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The database the bot process uses, seen from the test (its own engine)."""
    engine = create_engine(db_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def seed_owner_ticket(db_url: str) -> int:
    """The owner (OWNER_ID, "Олена") and one ticket; returns the ticket id."""
    async with open_db(db_url) as sf, sf() as session, session.begin():
        owner = await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID, name="Олена")
        return (await make_ticket(session, owner)).id


async def comments_and_applied(session: AsyncSession, ticket_id: int, first: int, last: int
                               ) -> tuple[list[str], int]:
    """The ticket's comment texts in order, and how many updates first..last were applied."""
    comments = list(await session.scalars(
        select(Comment.text).where(Comment.ticket_id == ticket_id).order_by(Comment.id)))
    applied = await session.scalar(
        select(func.count()).select_from(ProcessedUpdate)
        .where(ProcessedUpdate.update_id.between(first, last)))
    return comments, applied or 0
