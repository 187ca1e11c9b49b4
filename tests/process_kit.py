"""`python -m bot` as a real process against the in-test Bot API emulator: start, stop with
SIGTERM, kill with SIGKILL, restart — for the shutdown, crash and two-instance tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e_kit import TOKEN
from tests.emulators.telegram import TelegramEmulator
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
