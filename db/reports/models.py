"""Per-day rollups of the report's measures (migration 0008): a cache the reports read instead
of a year of rows. Registered with `Base.metadata` by importing this module (the migration
env does).

A rolled-up day is the shop's local day [lo, hi) in UTC in zone `tz`, holding one row per
measure row of db.reports.measures for that day plus a `day` marker row (k_int = the date's
ordinal), all written in one transaction by db.reports.rollups.build. Triggers on the books
(payments, receipts, expenses, cash moves, tickets, status history, commission adjustments,
outbox, statuses) delete a day's rows whenever a row dated in it is inserted, changed or
deleted, so a day is either wholly up to date or absent (and then computed from the books).

`export_days` (migration 0009) hangs a day's receipts export text on that day's marker row:
deleted with it (ON DELETE CASCADE), so it is exactly as fresh as the rollup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigId, UTCDateTime


class ReportRollup(Base):
    __tablename__ = "report_rollups"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tz: Mapped[str] = mapped_column(String(64))
    lo: Mapped[datetime] = mapped_column(UTCDateTime)
    hi: Mapped[datetime] = mapped_column(UTCDateTime)
    measure: Mapped[str] = mapped_column(String(16))
    k_int: Mapped[int | None] = mapped_column(BigInteger)
    k_a: Mapped[str | None] = mapped_column(String(32))
    k_b: Mapped[str | None] = mapped_column(String(32))
    v1: Mapped[int] = mapped_column(BigInteger, default=0)
    v2: Mapped[int] = mapped_column(BigInteger, default=0)
    v3: Mapped[int] = mapped_column(BigInteger, default=0)
    v4: Mapped[int | None] = mapped_column(BigInteger)
    v5: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # the triggers find a day by `hi > t AND lo <= t`: from t's day on, which is nothing
        # for the rows of today that most writes touch
        Index("ix_report_rollups_hi", "hi"),
        # the reports read a period's days of one zone
        Index("ix_report_rollups_tz_lo", "tz", "lo"),
    )


class ExportDay(Base):
    """A rolled-up day's receipt lines as CSV rows (no header), zlib-compressed UTF-8, in one
    language and format (`stamp`, made by bot.views.receipts_file): a year's export
    concatenates these instead of reading and formatting a million lines
    (db/reports/export_days.py). Kept honest by the rollup triggers (the marker row goes, this
    goes) and by migration 0009's own: a receipt line changed, a ticket's master changed,
    a staff member or a payment type renamed."""

    __tablename__ = "export_days"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rollup_id: Mapped[int] = mapped_column(ForeignKey("report_rollups.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))
    stamp: Mapped[str] = mapped_column(String(32))
    receipts: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)  # kopecks, Σ amounts (signed)
    body: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        # one text per day and language; also the index the cascade looks rows up by
        UniqueConstraint("rollup_id", "lang"),
    )
