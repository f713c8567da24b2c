"""Small charts drawn server-side as SVG geometry from the profile already in the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

BAR_HEIGHT: Final = 18
LABEL_WIDTH: Final = 140
PLOT_WIDTH: Final = 220


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH

    @property
    def width(self) -> int:
        return self.label_width + self.plot_width + 70


@dataclass(frozen=True)
class Spread:
    """A numeric column's five-number summary on one axis (x positions in pixels)."""

    minimum: float
    q1: float | None
    median: float | None
    q3: float | None
    maximum: float
    x_min: float
    x_q1: float | None
    x_median: float | None
    x_q3: float | None
    x_max: float
    width: int = PLOT_WIDTH


def bar_chart(title: str, points: Sequence[tuple[str, float, str]], scale: float) -> BarChart:
    """Horizontal bars; ``scale`` is the value drawn at full width."""
    bars = tuple(
        Bar(
            label=label[:24],
            value=value,
            text=text,
            y=index * (BAR_HEIGHT + 4),
            width=0.0 if scale <= 0 else round(PLOT_WIDTH * min(value / scale, 1.0), 2),
        )
        for index, (label, value, text) in enumerate(points)
    )
    return BarChart(title, bars, max(1, len(bars)) * (BAR_HEIGHT + 4))


def missing_share_chart(columns: Sequence[Mapping[str, Any]]) -> BarChart:
    points = [
        (str(c.get("name", "")), float(c.get("missing_share") or 0.0), _percent(c)) for c in columns
    ]
    return bar_chart("Missing share by column", points, 1.0)


def top_values_chart(column: Mapping[str, Any], limit: int = 5) -> BarChart | None:
    values = [v for v in column.get("top_values") or [] if isinstance(v, Mapping)][:limit]
    if not values:
        return None
    top = max(int(v.get("count", 0)) for v in values)
    points = [
        (str(v.get("value", "")), float(v.get("count", 0)), str(v.get("count"))) for v in values
    ]
    return bar_chart(f"Top values of {column.get('name')}", points, float(top))


def spread_of(stats: Mapping[str, Any]) -> Spread | None:
    low, high = stats.get("min"), stats.get("max")
    if not isinstance(low, int | float) or not isinstance(high, int | float) or high < low:
        return None
    span = (high - low) or 1.0

    def x(value: Any) -> float | None:
        if not isinstance(value, int | float):
            return None
        return round(10 + (PLOT_WIDTH - 20) * (value - low) / span, 2)

    q1, median, q3 = stats.get("q1"), stats.get("median"), stats.get("q3")
    return Spread(
        float(low),
        _num(q1),
        _num(median),
        _num(q3),
        float(high),
        x(low) or 10.0,
        x(q1),
        x(median),
        x(q3),
        x(high) or float(PLOT_WIDTH - 10),
    )


def failures_chart(failures: Sequence[Mapping[str, Any]]) -> BarChart:
    """Failed attempts per error class over the window the stats cover."""
    totals: dict[str, int] = {}
    for entry in failures:
        name = str(entry.get("error_class") or "unknown")
        totals[name] = totals.get(name, 0) + int(entry.get("count", 0))
    points = [(name, float(count), str(count)) for name, count in sorted(totals.items())]
    return bar_chart(
        "Failed attempts by error class (24 h)", points, float(max(totals.values(), default=0))
    )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _percent(column: Mapping[str, Any]) -> str:
    return f"{100 * float(column.get('missing_share') or 0.0):.1f} %"
