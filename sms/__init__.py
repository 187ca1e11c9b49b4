"""SMS delivery for client notifications (the Telegram fallback). No aiogram, no DB here."""

from sms.base import SmsProvider, SmsResult
from sms.factory import SMS_PROVIDERS, make_sms_provider
from sms.log import LogSmsProvider, NoneSmsProvider
from sms.smsfly import SmsFlyProvider
from sms.turbosms import TurboSmsProvider

__all__ = [
    "SMS_PROVIDERS",
    "LogSmsProvider",
    "NoneSmsProvider",
    "SmsFlyProvider",
    "SmsProvider",
    "SmsResult",
    "TurboSmsProvider",
    "make_sms_provider",
]
