"""Money: price list, payment types, receipts and payments, refunds, expenses, the drawer,
service cash moves, shifts and closing a ticket with the master's commission."""
