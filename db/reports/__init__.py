"""Owner reports: periods in the shop's time, totals and lists from SQL aggregates, switches."""
