"""Money at the desk, one module per screen or flow: a ticket's "Оплата" tab and receipts
(receipts.py, typing lines receipt_lines.py), paying (pay.py, in parts pay_split.py),
expenses, closing a ticket with the master's commission, refunds, the drawer (/cash, quick
sales), the price list (/services: price_list.py, changes price_edit.py) and the owner's
payment types. Forms and their typed data are forms.py; screens several modules show are
views.py; the card's money part is card.py. handlers/routers.py includes each module's router."""
