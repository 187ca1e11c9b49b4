"""Charts for the owner: PNG bytes drawn with matplotlib's object API on the Agg canvas
(no pyplot, no global state, safe from any thread). Rendering takes ~0.1 s: call it through
`asyncio.to_thread` from async code. matplotlib is imported by the function that draws, so
start-up does not pay for it (only the digest draws)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.artist import Artist

REVENUE_COLOR = "#2e7d32"
REFUND_COLOR = "#c62828"
ACCEPTED_COLOR = "#1565c0"
CLOSED_COLOR = "#ef6c00"


@dataclass(frozen=True, slots=True)
class ChartDay:
    day: date
    revenue: int  # kopecks (sales − refunds; may be negative)
    accepted: int  # tickets accepted
    closed: int  # tickets closed


@dataclass(frozen=True, slots=True)
class ChartLabels:
    title: str
    revenue: str  # axis / legend: "Выручка, ₴"
    accepted: str  # "Принято"
    closed: str  # "Закрыто"
    weekdays: Sequence[str] = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


def _grouped(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


def revenue_chart(days: Sequence[ChartDay], labels: ChartLabels) -> bytes:
    """Bars of the daily revenue (hryvnias) and lines of tickets accepted / closed."""
    # The Agg canvas is named explicitly, so no backend is selected (no matplotlib.use).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(8, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = list(range(len(days)))
    revenue = [d.revenue / 100 for d in days]
    colors = [REVENUE_COLOR if v >= 0 else REFUND_COLOR for v in revenue]
    bars = ax.bar(x, revenue, color=colors, alpha=0.85, label=labels.revenue, zorder=2)
    top = max([abs(v) for v in revenue] + [1])
    for bar, value in zip(bars, revenue, strict=True):
        if value:
            ax.annotate(_grouped(value), (bar.get_x() + bar.get_width() / 2, value),
                        xytext=(0, 2 if value >= 0 else -9), textcoords="offset points",
                        ha="center", fontsize=7, color="#333333")
    ax.set_ylim(min(0, min(revenue, default=0) * 1.15), top * 1.18)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _grouped(v)))
    ax.set_ylabel(labels.revenue)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{d.day:%d.%m}\n{labels.weekdays[d.day.weekday()]}" for d in days],
                       fontsize=8)
    for i, d in enumerate(days):
        if d.day.weekday() >= 5:
            ax.get_xticklabels()[i].set_color("#888888")

    ax2 = ax.twinx()
    ax2.plot(x, [d.accepted for d in days], marker="o", color=ACCEPTED_COLOR,
             label=labels.accepted, linewidth=1.6, markersize=4)
    ax2.plot(x, [d.closed for d in days], marker="s", color=CLOSED_COLOR, label=labels.closed,
             linewidth=1.6, markersize=4)
    ax2.set_ylim(0, max([d.accepted for d in days] + [d.closed for d in days] + [1]) * 1.3)
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))

    handles: list[Artist | tuple[Artist, ...]] = [bars, *ax2.get_lines()]
    ax.legend(handles, [labels.revenue, labels.accepted, labels.closed], loc="upper left",
              fontsize=8, frameon=False, ncols=3)
    ax.set_title(labels.title, fontsize=11)
    for side in ("top",):
        ax.spines[side].set_visible(False)
        ax2.spines[side].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
