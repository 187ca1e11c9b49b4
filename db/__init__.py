"""Persistence and domain rules. Knows nothing of Telegram."""
