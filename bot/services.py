"""Long-lived collaborators the handlers and jobs share (one per running application)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.config import Settings
from fiscal import FiscalProvider, make_provider
from sms import SmsProvider, make_sms_provider


@dataclass
class Services:
    settings: Settings
    fiscal: FiscalProvider
    sms: SmsProvider
    # Set after a commit that wrote outbox rows / pending fiscal receipts, to wake the workers
    # at once instead of at their next poll.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    fiscal_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def fiscal_enabled(self) -> bool:
        return self.fiscal.is_fiscal

    async def aclose(self) -> None:
        await self.fiscal.aclose()
        await self.sms.aclose()


def make_services(settings: Settings) -> Services:
    fiscal = make_provider(
        settings.fiscal_provider, api_url=settings.checkbox_api_url,
        license_key=settings.checkbox_license_key, pin_code=settings.checkbox_pin_code,
    )
    sms = make_sms_provider(
        settings.sms_provider, turbosms_token=settings.turbosms_token,
        turbosms_sender=settings.turbosms_sender, turbosms_api_url=settings.turbosms_api_url,
        smsfly_api_key=settings.smsfly_api_key, smsfly_sender=settings.smsfly_sender,
        smsfly_api_url=settings.smsfly_api_url,
    )
    return Services(settings=settings, fiscal=fiscal, sms=sms)
