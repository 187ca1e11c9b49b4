"""Long-running workers started by the composition root: the outbox (client messages, Telegram
first, SMS fallback) and the fiscal queue (receipts to the PRRO), with their limiter and waits."""
