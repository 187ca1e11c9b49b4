"""Providers that send nothing: `log` (the default, for development) and `none`."""

from __future__ import annotations

import logging
import uuid

from sms.base import SmsProvider, SmsResult

logger = logging.getLogger("sms")


class LogSmsProvider(SmsProvider):
    """Writes the SMS to the "sms" logger and reports it as sent."""

    name = "log"

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        message_id = f"log-{uuid.uuid4().hex}"
        logger.info("SMS to %s [%s]: %s", phone_e164, message_id, text)
        return SmsResult.sent(self.name, message_id)


class NoneSmsProvider(SmsProvider):
    """SMS switched off: every send fails permanently, so staff learn the client was not told."""

    name = "none"

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        return SmsResult.failed(
            self.name, "SMS is switched off (SMS_PROVIDER=none)", permanent=True
        )
