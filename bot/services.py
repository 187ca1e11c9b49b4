"""Long-lived collaborators the handlers and jobs share (one set per running application),
built explicitly by `make_services` in the composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.usecases.fiscalize import Clock, FiscalPolicy
from bot.workers.fiscal_runtime import FiscalRuntime, build_fiscal_runtime
from db import signals
from fiscal import FiscalProvider, make_provider
from sms import SmsProvider, make_sms_provider


@dataclass
class Services:
    settings: Settings
    fiscal: FiscalProvider
    sms: SmsProvider
    fiscal_runtime: FiscalRuntime
    # Set after a commit that queued client messages: wakes the outbox worker at once instead
    # of at its next poll (db.signals; see `make_services`).
    outbox_wakeup: asyncio.Event

    @property
    def fiscal_wakeup(self) -> asyncio.Event:
        return self.fiscal_runtime.wakeup

    @property
    def fiscal_enabled(self) -> bool:
        return self.fiscal.is_fiscal

    def wake(self, queued: frozenset[str]) -> None:
        if signals.OUTBOX in queued:
            self.outbox_wakeup.set()
        if signals.FISCAL in queued:
            self.fiscal_runtime.wake()

    async def aclose(self) -> None:
        await self.fiscal.aclose()
        await self.sms.aclose()


def make_services(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    fiscal: FiscalProvider | None = None,
    sms: SmsProvider | None = None,
    fiscal_policy: FiscalPolicy | None = None,
    clock: Clock | None = None,
) -> Services:
    """The providers named by the settings (or the ones given, for tests and benchmarks), the
    fiscal runtime, and the after-commit wake-ups of both workers."""
    fiscal = fiscal or make_provider(
        settings.fiscal_provider, api_url=settings.checkbox_api_url,
        license_key=settings.checkbox_license_key.get_secret_value(),
        pin_code=settings.checkbox_pin_code.get_secret_value(),
    )
    sms = sms or make_sms_provider(
        settings.sms_provider, turbosms_token=settings.turbosms_token.get_secret_value(),
        turbosms_sender=settings.turbosms_sender, turbosms_api_url=settings.turbosms_api_url,
        smsfly_api_key=settings.smsfly_api_key.get_secret_value(),
        smsfly_sender=settings.smsfly_sender,
        smsfly_api_url=settings.smsfly_api_url,
    )
    runtime = build_fiscal_runtime(settings, fiscal, session_factory, asyncio.Event(),
                                   clock=clock, policy=fiscal_policy)
    services = Services(settings=settings, fiscal=fiscal, sms=sms, fiscal_runtime=runtime,
                        outbox_wakeup=asyncio.Event())
    signals.on_commit(session_factory, services.wake)
    return services
