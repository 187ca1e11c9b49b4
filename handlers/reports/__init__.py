"""Owner reports: /today, /report, the receipts list, payroll, exports, report settings.
The daily digest itself is a scheduler job (scheduler/digest.py)."""
