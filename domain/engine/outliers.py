"""Outlier fences that respect skew, and the columns where an outlier check makes no sense.

The rule is a double median absolute deviation (a separate spread below and above the median,
so a skewed column is not judged by its short side) on the values, or on ``log1p`` of them
for non-negative columns with a strong right skew (money, counts, sizes). A value is an
outlier when it lies more than ``outlier_mad_k`` robust standard deviations from the median.
No check runs on coordinates, bounded scales (shares, percentages, scores) or columns with few
distinct values. Each side is judged on its own: a fence beyond which more than half of
``outlier_max_share`` of the column lies describes the shape of that tail, not rare errors,
and is dropped; so at most ``outlier_max_share`` of a column is ever reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.engine.options import EngineOptions

MAD_TO_SD = 1.4826  # a normal distribution's standard deviation per median absolute deviation
MEAN_AD_TO_SD = 1.2533  # ... per mean absolute deviation (when the MAD is 0)
_COORDINATE = re.compile(
    r"(?:^|[^a-z])(?:lat|lats|latitude|lon|lng|long|longitude|coord|coords|coordinates)(?:$|[^a-z])",
    re.IGNORECASE,
)
_BOUNDED = re.compile(
    r"(?:pct|percent|percentage|share|ratio|rate|score|rating|grade|prob|probability)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OutlierRule:
    """How a numeric column was checked: ``method`` is "mad" or "log_mad" with ``fences`` in
    the column's own unit, or "skipped" with the ``reason``."""

    method: str
    fences: tuple[float, float] | None = None
    reason: str | None = None
    outside_share: float = 0.0  # in the quantile sample

    def describe(self) -> dict[str, Any]:
        if self.fences is None:
            return {"method": self.method, "reason": self.reason}
        return {
            "method": self.method,
            "low": self.fences[0],
            "high": self.fences[1],
            "share_outside": round(self.outside_share, 6),
        }


def skip_reason(
    name: str, minimum: float, maximum: float, distinct: int, options: EngineOptions
) -> str | None:
    """Why a numeric column gets no outlier check, or None."""
    if distinct < options.outlier_min_distinct:
        return "few_distinct_values"
    if _COORDINATE.search(name) and minimum >= -180.0 and maximum <= 180.0:
        return "coordinates"
    if minimum >= 0.0 and maximum <= 1.0:
        return "bounded_scale"
    if _BOUNDED.search(name) and minimum >= 0.0 and maximum <= 100.0:
        return "bounded_scale"
    return None


def _spread(deviations: npt.NDArray[np.float64]) -> float:
    if deviations.size == 0:
        return 0.0
    mad = float(np.median(deviations))
    if mad > 0:
        return MAD_TO_SD * mad
    return MEAN_AD_TO_SD * float(np.mean(deviations))


def fit_outlier_rule(
    sample: npt.NDArray[np.float64],
    skew: float | None,
    options: EngineOptions,
) -> OutlierRule:
    """Fences from the quantile sample of a column that passed :func:`skip_reason`."""
    if sample.size < options.outlier_min_values:
        return OutlierRule("skipped", reason="too_few_values")
    log_scale = bool(sample.min() >= 0.0 and skew is not None and skew > options.skew_threshold)
    values = np.log1p(sample) if log_scale else sample
    center = float(np.median(values))
    below = center - values[values <= center]
    above = values[values >= center] - center
    whole = _spread(np.abs(values - center))
    if whole == 0.0:
        return OutlierRule("skipped", reason="no_spread")
    low_spread = _spread(below) or whole
    high_spread = _spread(above) or whole
    low = center - options.outlier_mad_k * low_spread
    high = center + options.outlier_mad_k * high_spread
    # each side on its own: a side beyond whose fence lies more than half the cap is the
    # shape of that tail (a long left tail on a log scale, say), and gets no fence
    side_cap = options.outlier_max_share / 2
    below_share = int(np.count_nonzero(values < low)) / values.size
    above_share = int(np.count_nonzero(values > high)) / values.size
    if below_share > side_cap:
        low, below_share = -math.inf, 0.0
    if above_share > side_cap:
        high, above_share = math.inf, 0.0
    if math.isinf(low) and math.isinf(high):
        return OutlierRule("skipped", reason="heavy_tails")
    method = "log_mad" if log_scale else "mad"
    if log_scale:
        low = math.expm1(low) if math.isfinite(low) else low
        high = math.expm1(high) if math.isfinite(high) else high
    return OutlierRule(method, (float(low), float(high)), outside_share=below_share + above_share)
