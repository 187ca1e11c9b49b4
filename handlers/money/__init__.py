"""Money at the desk: the ticket's "Оплата" and "Расходы" tabs (receipts, pay, expenses),
closing a ticket with the master's commission, the price list (/services), the drawer (/cash,
quick sales), refunds and the owner's payment types. The card part is card.py; the router tree
(handlers/routers.py) includes each module's router."""
