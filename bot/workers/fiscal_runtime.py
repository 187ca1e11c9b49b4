"""The fiscal side of one running application: the queue's worker and the shift closer sharing
one lock (so /shift, the scheduler and the retry loop never step on each other in this
process), and the notifier that tells staff about trouble. Built once by `make_services`;
other processes are kept apart by the database (claims) and the PRRO (client receipt ids).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.usecases.fiscalize import Clock, Fiscalizer, FiscalPolicy
from bot.usecases.shift_close import ShiftCloser
from bot.workers.staff_notices import TelegramFiscalNotifier
from db.base import utcnow
from fiscal import FiscalProvider


@dataclass
class FiscalRuntime:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    fiscalizer: Fiscalizer
    closer: ShiftCloser
    wakeup: asyncio.Event
    notifier: TelegramFiscalNotifier | None = None

    def attach_bot(self, bot: Bot, i18n: I18n) -> None:
        """Give the runtime a way to talk to staff. The composition root attaches the app's
        bot at start; the first bot attached stays."""
        if self.notifier is not None:
            return
        self.notifier = TelegramFiscalNotifier(bot, self.session_factory, i18n, self.settings)
        self.fiscalizer.notifier = self.notifier
        self.closer.notifier = self.notifier

    def wake(self) -> None:
        """Ask the retry loop to look at the queue now (after a commit that queued work)."""
        self.wakeup.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self.fiscalizer.run_forever(stop, self.wakeup)


def build_fiscal_runtime(
    settings: Settings,
    provider: FiscalProvider,
    session_factory: async_sessionmaker[AsyncSession],
    wakeup: asyncio.Event,
    *,
    clock: Clock | None = None,
    policy: FiscalPolicy | None = None,
) -> FiscalRuntime:
    clock = clock or utcnow
    fiscalizer = Fiscalizer(session_factory, provider, clock=clock, policy=policy)
    closer = ShiftCloser(session_factory, provider, fiscalizer, clock=clock)
    return FiscalRuntime(settings=settings, session_factory=session_factory,
                         fiscalizer=fiscalizer, closer=closer, wakeup=wakeup)
