"""Device intake, built for speed: type → brand/model → defect → one review screen.

Everything optional (condition, kit, serial/IMEI, lock code, photos, estimate, master,
services) lives on the review screen, so a typical intake of a returning client is 6–8
interactions. The form and the review screen: form.py; the questions: start.py; the review's
field screens: review.py, what is typed on them: typed.py; saving: accept.py over
bot.usecases.intake; the rules: db.desk.intake.
"""

from __future__ import annotations

from aiogram import Router

from handlers.intake import accept, review, start, typed


def setup() -> Router:
    router = Router(name="intake")
    router.include_routers(start.setup(), review.setup(), typed.setup(), accept.setup())
    return router
