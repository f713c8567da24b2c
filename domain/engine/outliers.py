"""Outlier fences that respect skew, and the columns where an outlier check makes no sense.

The rule is a double median absolute deviation (a separate spread below and above the median,
so a skewed column is not judged by its short side) on the values, or on ``log1p`` of them
for non-negative columns whose quartiles show a right skew (money, counts, sizes; then only
the high side is judged). A value is an
outlier when it lies more than ``outlier_mad_k`` robust standard deviations from the median.
No check runs on coordinates, bounded scales (shares, percentages, scores) or columns with few
distinct values. Each side is judged on its own. A fence is moved out past the first gap of
two robust standard deviations among the values beyond it, and dropped when there is none (a
tail running on is the distribution's shape, not an error); a fence beyond which more than
half of ``outlier_max_share`` of the column lies is dropped too. So at most
``outlier_max_share`` of a column is ever reported, and only values that stand apart.
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
    r"(?:^|[^a-z])(?:pct|percent|percentage|share|ratio|rate|score|rating|grade|prob|"
    r"probability)(?:$|[^a-z])",
    re.IGNORECASE,
)
QUARTILE_SKEW_FOR_LOG = 0.1  # Bowley's quartile skewness above which a log scale is used
GAP_SPREADS = 2.0  # values beyond a fence count only past a gap of this many robust SDs


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


def _fence_past_gap(values: npt.NDArray[np.float64], fence: float, spread: float) -> float:
    """The upper fence moved out to the first gap of at least GAP_SPREADS robust standard
    deviations among the values beyond it, so only values that stand apart lie beyond; inf
    when the tail runs on past the fence without such a gap."""
    ordered = np.sort(values)
    start = int(np.searchsorted(ordered, fence, side="right"))
    if start >= ordered.size:
        return fence
    if start == 0:
        return math.inf
    gaps = np.diff(ordered[start - 1 :])
    wide = np.flatnonzero(gaps >= GAP_SPREADS * spread)
    if wide.size == 0:
        return math.inf
    return float(ordered[start - 1 + int(wide[0])])


def quartile_skew(sample: npt.NDArray[np.float64]) -> float:
    """Bowley's skewness (Q3 + Q1 - 2 * median) / (Q3 - Q1): not moved by a few outliers."""
    q1, median, q3 = (float(q) for q in np.quantile(sample, [0.25, 0.5, 0.75]))
    return 0.0 if q3 == q1 else (q3 + q1 - 2 * median) / (q3 - q1)


def fit_outlier_rule(sample: npt.NDArray[np.float64], options: EngineOptions) -> OutlierRule:
    """Fences from the quantile sample of a column that passed :func:`skip_reason`."""
    if sample.size < options.outlier_min_values:
        return OutlierRule("skipped", reason="too_few_values")
    log_scale = bool(sample.min() >= 0.0 and quartile_skew(sample) > QUARTILE_SKEW_FOR_LOG)
    values = np.log1p(sample) if log_scale else sample
    center = float(np.median(values))
    whole = _spread(np.abs(values - center))
    if whole == 0.0:
        return OutlierRule("skipped", reason="no_spread")
    low_spread = _spread(center - values[values <= center]) or whole
    high_spread = _spread(values[values >= center] - center) or whole
    high = _fence_past_gap(values, center + options.outlier_mad_k * high_spread, high_spread)
    # on a log scale only the long right tail is judged: the log stretches the values near 0
    low = -math.inf
    if not log_scale:
        low = -_fence_past_gap(-values, -(center - options.outlier_mad_k * low_spread), low_spread)
    # each side on its own: beyond more than half the cap is the shape of that tail
    side_cap = options.outlier_max_share / 2
    below_share = int(np.count_nonzero(values < low)) / values.size
    above_share = int(np.count_nonzero(values > high)) / values.size
    if below_share > side_cap:
        low, below_share = -math.inf, 0.0
    if above_share > side_cap:
        high, above_share = math.inf, 0.0
    if math.isinf(low) and math.isinf(high):
        return OutlierRule("skipped", reason="none_stand_apart")
    if log_scale:
        high = math.expm1(high) if math.isfinite(high) else high
    method = "log_mad" if log_scale else "mad"
    return OutlierRule(method, (float(low), float(high)), outside_share=below_share + above_share)
