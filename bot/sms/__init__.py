"""SMS delivery for client notifications (the Telegram fallback). No aiogram, no DB here."""

from bot.sms.base import SmsProvider, SmsResult
from bot.sms.factory import SMS_PROVIDERS, make_sms_provider
from bot.sms.log import LogSmsProvider, NoneSmsProvider
from bot.sms.smsfly import SmsFlyProvider
from bot.sms.turbosms import TurboSmsProvider

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
