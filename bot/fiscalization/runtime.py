"""One fiscal runtime per running application (per `Services`): the worker, the shift closer
and the lock they share, so /shift, the scheduler and the retry loop never step on each other
in this process. Other processes are kept apart by the database (claims) and the PRRO (ids).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.fiscalization.closing import ShiftCloser
from bot.fiscalization.fiscalizer import Clock, Fiscalizer, FiscalPolicy
from bot.fiscalization.notices import TelegramFiscalNotifier
from bot.services import Services
from db.base import utcnow

_ATTR = "_fiscal_runtime"


@dataclass
class FiscalRuntime:
    services: Services
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    fiscalizer: Fiscalizer
    closer: ShiftCloser
    notifier: TelegramFiscalNotifier | None = None

    def attach_bot(self, bot: Bot, i18n: I18n | None = None) -> None:
        """Give the runtime a way to talk to people (first caller with a bot wins)."""
        if self.notifier is not None:
            return
        if i18n is None:
            from bot.i18n import make_i18n

            i18n = make_i18n(self.settings.default_language)
        self.notifier = TelegramFiscalNotifier(bot, self.session_factory, i18n, self.settings)
        self.fiscalizer.notifier = self.notifier
        self.closer.notifier = self.notifier

    def wake(self) -> None:
        """Ask the retry loop to look at the queue now (after a commit that queued work)."""
        self.services.fiscal_wakeup.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self.fiscalizer.run_forever(stop, self.services.fiscal_wakeup)


def runtime_for(
    services: Services,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    bot: Bot | None = None,
    i18n: I18n | None = None,
    clock: Clock | None = None,
    policy: FiscalPolicy | None = None,
) -> FiscalRuntime:
    """The runtime of these services, made on first use (kept on the Services object)."""
    runtime: FiscalRuntime | None = getattr(services, _ATTR, None)
    if runtime is None:
        clock = clock or utcnow
        fiscalizer = Fiscalizer(session_factory, services.fiscal, clock=clock, policy=policy)
        closer = ShiftCloser(session_factory, services.fiscal, fiscalizer, clock=clock)
        runtime = FiscalRuntime(services=services, settings=services.settings,
                                session_factory=session_factory, fiscalizer=fiscalizer,
                                closer=closer)
        setattr(services, _ATTR, runtime)
    if bot is not None:
        runtime.attach_bot(bot, i18n)
    return runtime
