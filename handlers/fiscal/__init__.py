"""The fiscal side at the desk: /shift with X and Z reports, receipts for people, fiscal error
notices and retries."""
