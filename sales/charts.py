"""Server-side charts as inline SVG: no JavaScript library, no CDN, nothing to load.

The markup carries CSS classes (``bar``, ``negative``, ``label``, ``value``, ``axis``)
so the admin's stylesheet colours it with the admin's own variables (dark mode too);
the ``fill`` attributes are the fallback when the SVG is seen without that stylesheet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    key: str = ""  # e.g. the seller's id, as ``data-key`` (tests and scripts find bars by it)


# Layout, in SVG user units (the SVG scales to its container's width).
WIDTH = 760
LABEL_WIDTH = 210
VALUE_WIDTH = 130
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 8
BOTTOM = 8
LABEL_CHARS = 30


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def horizontal_bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    value_format: Callable[[Decimal], str] = str,
    css_class: str = "bar-chart",
) -> SafeString:
    """One horizontal bar per item, in the given order, with its label and its value.

    Negative values (a seller with more returns than sales) grow left of a zero axis.
    Every piece of text is escaped; the result is safe to put in a template as is.
    """
    height = TOP + BOTTOM + ROW_HEIGHT * max(len(bars), 1)
    plot_left = LABEL_WIDTH + 8
    plot_width = WIDTH - plot_left - VALUE_WIDTH
    values = [float(bar.value) for bar in bars]
    low = min([0.0, *values])
    high = max([0.0, *values])
    span = (high - low) or 1.0

    def x_of(value: float) -> float:
        return plot_left + (value - low) / span * plot_width

    zero = x_of(0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
        y = TOP + index * ROW_HEIGHT
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2
        text_y = y + ROW_HEIGHT / 2
        left, right = sorted((zero, x_of(value)))
        width = max(right - left, 1.0 if value else 0.0)
        shown = value_format(bar.value)
        negative = value < 0
        label = Truncator(bar.label).chars(LABEL_CHARS)
        parts.append(
            f'<g class="row"><text class="label" x="{LABEL_WIDTH}" y="{_fmt(text_y)}" '
            f'text-anchor="end" dominant-baseline="central" fill="#333">{escape(label)}'
            f"<title>{escape(bar.label)}</title></text>"
            f'<rect class="bar{" negative" if negative else ""}" x="{_fmt(left)}" '
            f'y="{_fmt(bar_y)}" width="{_fmt(width)}" height="{BAR_HEIGHT}" rx="2" '
            f'fill="{"#ba2121" if negative else "#417690"}" data-key="{escape(bar.key)}" '
            f'data-value="{escape(str(bar.value))}">'
            f"<title>{escape(bar.label)}: {escape(shown)}</title></rect>"
            f'<text class="value" x="{_fmt(max(right, zero) + 6)}" y="{_fmt(text_y)}" '
            f'dominant-baseline="central" fill="#333">{escape(shown)}</text></g>'
        )
    parts.append(
        f'<line class="axis" x1="{_fmt(zero)}" x2="{_fmt(zero)}" y1="{TOP - 4}" '
        f'y2="{height - BOTTOM + 4}" stroke="#999" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above
