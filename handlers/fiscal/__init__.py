"""The fiscal side at the desk: /shift with X and Z reports (shift.py), receipts the PRRO
refused and their retries (retries.py), receipts for people (receipts.py)."""
