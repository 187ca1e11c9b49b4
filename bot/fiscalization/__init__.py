"""Fiscalization use cases: the fiscal queue's worker, closing shifts, notices to staff.

    runtime = runtime_for(services, session_factory, bot=bot, i18n=i18n)
    await runtime.fiscalizer.run_once()                 # send what is due
    await runtime.closer.close(reason="auto")           # flush, PRRO Z, internal Z, tell owners
    asyncio.create_task(runtime.run_forever(stop))      # the retry loop (scheduler.fiscal)
"""

from bot.fiscalization.closing import CloseResult, ShiftCloser, close_due_at
from bot.fiscalization.fiscalizer import (
    Fiscalizer,
    FiscalNotifier,
    FiscalPolicy,
    RunStats,
    build_sell_receipt,
)
from bot.fiscalization.notices import TelegramFiscalNotifier
from bot.fiscalization.runtime import FiscalRuntime, runtime_for

__all__ = [
    "CloseResult",
    "FiscalNotifier",
    "FiscalPolicy",
    "FiscalRuntime",
    "Fiscalizer",
    "RunStats",
    "ShiftCloser",
    "TelegramFiscalNotifier",
    "build_sell_receipt",
    "close_due_at",
    "runtime_for",
]
