"""Server-rendered SVG charts for the dashboard: pure functions from figures to markup.

No inline styles (the Content-Security-Policy refuses them): colours and sizes are SVG
presentation attributes or classes of crewcall/pages.css. Every piece of text is escaped.
Each chart is an `<svg role="img">` with a `<title>` and an `aria-label` that states its
figures; the templates add a table with the same figures beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 640
ROW = 26
LABEL_W = 230
BAR_W = 320
ACCEPTED = "#15803d"
NEEDED = "#e2e6eb"
OVER = "#1d4ed8"
BAR = "#2456d6"
TEXT = "#1d2330"
MUTED = "#5f6b7a"
TITLE_MAX = 30


@dataclass(frozen=True)
class FillRow:
    label: str
    accepted: int
    needed: int

    @property
    def rate(self) -> int:
        """Accepted as a percentage of needed (rounded; 100 when nobody is needed)."""
        return round(100 * self.accepted / self.needed) if self.needed else 100


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        return f"{_number(self.low)}\u2013{_number(self.high)}"  # an en dash


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _short(text: str, limit: int = TITLE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(*, height: int, title: str, label: str, body: list[str], css: str) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(label)}" '
        f'font-family="system-ui, sans-serif" font-size="13">'
        f"<title>{escape(title)}</title>"
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every value above is escaped


def fill_rate_chart(rows: Sequence[FillRow]) -> SafeString:
    """One bar per event: the needed headcount as a grey track, the accepted share on it
    (in blue beyond 100 %), and "accepted / needed" at the end."""
    title = _("Fill rate of the upcoming events (accepted of needed)")
    figures = "; ".join(f"{r.label}: {r.accepted} / {r.needed} ({r.rate} %)" for r in rows)
    height = max(1, len(rows)) * ROW + 8
    body: list[str] = []
    if not rows:
        empty = _("No upcoming events.")  # marked outside the f-string: xgettext skips those
        body.append(f'<text x="0" y="20" fill="{MUTED}">{escape(empty)}</text>')
    for i, row in enumerate(rows):
        y = 4 + i * ROW
        share = min(row.accepted / row.needed, 1.0) if row.needed else 1.0
        colour = OVER if row.needed and row.accepted > row.needed else ACCEPTED
        body.append(
            f'<g class="fill-row"><text x="0" y="{y + 15}" fill="{TEXT}">{escape(_short(row.label))}</text>'
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{BAR_W}" height="{ROW - 8}" rx="3" fill="{NEEDED}"/>'
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{round(BAR_W * share, 1)}" height="{ROW - 8}" '
            f'rx="3" fill="{colour}"/>'
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 15}" fill="{TEXT}">'
            f"{row.accepted} / {row.needed}</text></g>"
        )
    return _svg(height=height, title=title, label=f"{title}. {figures}", body=body, css="chart-fill")


def _step(top: float, bins: int) -> float:
    """A round bin width (1, 2, 2.5 or 5 times a power of ten) so that `bins` bins cover 0…top."""
    raw = max(top / bins, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop ends at 10


def histogram(values: Sequence[float | Decimal], *, bins: int = 8) -> list[Bin]:
    """Counts of values in equal, round-numbered bins from 0; the last bin holds the top."""
    if not values:
        return []
    numbers = [float(v) for v in values]
    top = max(numbers)
    step = _step(top, bins)
    count = max(1, math.floor(top / step) + 1) if top > 0 else 1
    counts = [0] * count
    for v in numbers:
        counts[min(int(max(v, 0) // step), count - 1)] += 1
    return [Bin(low=i * step, high=(i + 1) * step, count=c) for i, c in enumerate(counts)]


def hours_chart(values: Sequence[float | Decimal], gini: float, *, days: int) -> SafeString:
    """Bars of how many employees worked how many hours in the last `days` days; the Gini
    coefficient stated in the title (0: all the same, towards 1: a few do all the work)."""
    bins = histogram(values)
    title = _("Hours worked per employee, last %(days)s days (Gini %(gini)s)") % {
        "days": days,
        "gini": f"{gini:.2f}",
    }
    figures = "; ".join(
        _("%(range)s h: %(count)s employees") % {"range": b.label, "count": b.count} for b in bins
    )
    plot_h, base, left = 180, 200, 40
    body: list[str] = []
    if not bins:
        empty = _("No active employees.")
        body.append(f'<text x="0" y="20" fill="{MUTED}">{escape(empty)}</text>')
    most = max((b.count for b in bins), default=1) or 1
    width = (WIDTH - left) / max(len(bins), 1)
    for i, b in enumerate(bins):
        h = round(plot_h * b.count / most, 1)
        x = round(left + i * width, 1)
        body.append(
            f'<g class="bin"><rect x="{x + 3}" y="{base - h}" width="{round(width - 6, 1)}" height="{h}" '
            f'fill="{BAR}"/>'
            f'<text x="{round(x + width / 2, 1)}" y="{base - h - 4}" text-anchor="middle" fill="{TEXT}">'
            f"{b.count}</text>"
            f'<text x="{round(x + width / 2, 1)}" y="{base + 16}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(b.label)}</text></g>"
        )
    body.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="{MUTED}"/>')
    x_axis, y_axis = _("hours"), _("people")
    body.append(f'<text x="0" y="{base + 34}" fill="{MUTED}">{escape(x_axis)}</text>')
    body.append(f'<text x="0" y="14" fill="{MUTED}">{escape(y_axis)}</text>')
    return _svg(height=base + 42, title=title, label=f"{title}. {figures}", body=body, css="chart-hours")
