"""Owner reports, one module per screen:

    today.py     /today and a day's totals          period.py    /report, periods, the form
    payroll.py   the masters' payroll               exports.py   CSV/XLSX files
    receipts.py  the receipts list and a receipt    menu.py      the "📊 Отчеты" section
    settings.py  the owner's report switches        access.py    who sees what, refusals
    router.py    the section's router tree          forms.py     the typed forms

The numbers come from db/reports (queries, periods, settings); the daily digest is a
scheduler job (scheduler/digest.py, rules in db/reports/digest.py)."""
