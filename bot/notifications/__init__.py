"""Client notifications: the outbox worker (Telegram first, SMS fallback) and its limiter.

    worker = OutboxWorker(session_factory, bot, make_sms_provider(...))
    task = asyncio.create_task(worker.run_forever(stop_event))
    ...  # after a transaction that called db.notify.outbox.enqueue() commits:
    worker.wake()
"""

from bot.notifications.ratelimit import RateLimiter
from bot.notifications.worker import DeliveryPolicy, DrainStats, OutboxWorker

__all__ = ["DeliveryPolicy", "DrainStats", "OutboxWorker", "RateLimiter"]
