"""Staff side of client notifications: the card's part (delivery.py) and its buttons
(card.py), the "notify?" prompt (ready_prompt.py), /templates (templates.py) and the owner's
switches (switches.py). The client side lives in handlers/client.py."""
