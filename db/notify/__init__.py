"""Client notifications: the outbox, delivery attempts, message templates, chat links, switches."""
