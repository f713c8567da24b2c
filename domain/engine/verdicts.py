"""Per-column verdicts at the end of pass 1: inferred type, fit counts, ID-likeness, spelling
clusters, outlier fences and skewness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.engine import patterns
from domain.engine.clusters import (
    Cluster,
    find_clusters,
    suggest_accent_variants,
    suggest_close_spellings,
)
from domain.engine.options import EngineOptions
from domain.engine.outliers import OutlierRule, fit_outlier_rule, skip_reason
from domain.engine.profiling import ColumnStats

_DATE_KINDS = ("date_iso", "date_other", "datetime")


@dataclass(frozen=True)
class ColumnVerdict:
    inferred_type: str
    valid: int  # non-null cells fitting the type
    formatted: int  # valid numbers needing conversion
    minority_dates: int
    minority_date_pattern: str | None
    id_like: bool
    clusters: tuple[Cluster, ...]
    close: tuple[tuple[str, str, int], ...]
    fences: tuple[float, float] | None
    outliers_estimate: int
    quantiles: dict[str, float]
    skew: float | None
    outlier_rule: OutlierRule | None = None  # None: not a numeric column
    extremes: tuple[tuple[float, int], ...] = ()  # (value, row) beyond the fences, worst first


def _fits(stats: ColumnStats, *kinds: str) -> int:
    return sum(stats.matches[k] for k in kinds if k in stats.alive)


def reads_lone_groups(stats: ColumnStats) -> bool:
    """Whether the column's lone comma groups ("1,500") are thousands separators: only where it
    also holds groups that can only be thousands ("1,234,567", "1,234.50") or decimal points,
    and no decimal comma ("2,5"). Otherwise they may be decimals (1.5) and are not numbers."""
    evidence = stats.thousands_groups > 0 or stats.fractional > 0
    return evidence and stats.decimal_commas == 0


def infer_type(stats: ColumnStats, options: EngineOptions) -> tuple[str, int, int]:
    """(type, cells fitting it, formatted numbers among them)."""
    non_null = stats.non_null
    if non_null == 0:
        return "empty", 0, 0
    need = options.type_fit_share * non_null
    unread = 0 if reads_lone_groups(stats) or "formatted" not in stats.alive else stats.lone_groups
    numbers = _fits(stats, "decimal", "formatted") - unread
    if numbers and numbers >= need:
        formatted = _fits(stats, "formatted") - unread
        if stats.leading_zero and not formatted and stats.fractional == 0:
            return "code", numbers, 0
        kind = "integer" if stats.fractional == 0 else "decimal"
        return kind, numbers, formatted
    booleans = _fits(stats, "boolean")
    if booleans and booleans >= need:
        return "boolean", booleans, 0
    dates = _fits(stats, *_DATE_KINDS)
    if dates and dates >= need:
        kind = "datetime" if _fits(stats, "datetime") else "date"
        return kind, dates, 0
    return "text", non_null, 0


def _quantiles(sample: np.ndarray[Any, Any]) -> dict[str, float]:
    if sample.size == 0:
        return {}
    q = np.quantile(sample, [0.25, 0.5, 0.75])
    return {"q1": float(q[0]), "median": float(q[1]), "q3": float(q[2])}


def _skew(stats: ColumnStats) -> float | None:
    n = stats.numeric
    if n < 3:
        return None
    s1, s2, s3 = (float(x) for x in stats.sums)
    mean = s1 / n
    m2 = s2 / n - mean**2
    m3 = s3 / n - 3 * mean * s2 / n + 2 * mean**3
    if m2 <= 1e-12 * max(1.0, abs(stats.pivot or 0.0)) ** 2:
        return 0.0
    return float(m3 / m2**1.5)


def _extremes(
    stats: ColumnStats, fences: tuple[float, float], limit: int
) -> tuple[tuple[float, int], ...]:
    """The values beyond the fences with their rows, farthest from the fences first."""
    low, high = fences
    beyond = [(v, r, v - high) for v, r in stats.highest.pairs() if v > high]
    beyond += [(v, r, low - v) for v, r in stats.lowest.pairs() if v < low]
    beyond.sort(key=lambda item: (-item[2], item[1]))
    return tuple((v, r) for v, r, _ in beyond[:limit])


def judge_column(stats: ColumnStats, options: EngineOptions, name: str = "") -> ColumnVerdict:
    kind, valid, formatted = infer_type(stats, options)
    distinct = stats.distinct(options.kmv_size)
    non_null = stats.non_null
    id_like = (
        non_null >= options.id_min_rows
        and stats.missing == 0
        and distinct >= options.id_unique_share * non_null
        and kind in ("integer", "code", "text")
    )
    minority = 0
    minority_pattern: str | None = None
    if kind in ("date", "datetime"):
        present = {k: stats.matches[k] for k in _DATE_KINDS if stats.matches[k]}
        if len(present) > 1:
            major = max(present, key=lambda k: present[k])
            minority = sum(v for k, v in present.items() if k != major)
            minority_pattern = patterns.CANDIDATES[major]  # cells NOT matching it are flagged
    clusters: tuple[Cluster, ...] = ()
    close: tuple[tuple[str, str, int], ...] = ()
    if (
        kind in ("text", "boolean")
        and not id_like
        and stats.values is not None
        and 1 < stats.values.height <= options.category_max_distinct
        and (non_null < 50 or stats.values.height <= options.category_max_share * non_null)
    ):
        clusters = tuple(find_clusters(stats.values))
        merged = {v for c in clusters for v in c.variants}
        ranked = [p for p in stats.top(options.edit_distance_values) if p[0] not in merged]
        accents = suggest_accent_variants(ranked)
        seen = {frozenset(pair[:2]) for pair in accents}
        typos = suggest_close_spellings(
            ranked, options.edit_distance_max, options.edit_distance_ratio
        )
        close = (*accents, *(t for t in typos if frozenset(t[:2]) not in seen))
    fences: tuple[float, float] | None = None
    outliers = 0
    quantiles: dict[str, float] = {}
    skew: float | None = None
    rule: OutlierRule | None = None
    extremes: tuple[tuple[float, int], ...] = ()
    if kind in ("integer", "decimal") and not id_like and stats.sample.size >= 4:
        quantiles = _quantiles(stats.sample)
        skew = _skew(stats)
        reason = skip_reason(name, stats.minimum, stats.maximum, distinct, options)
        if reason is not None:
            rule = OutlierRule("skipped", reason=reason)
        else:
            rule = fit_outlier_rule(stats.sample, options)
        if rule.fences is not None:
            extremes = _extremes(stats, rule.fences, options.sample_rows)
        if extremes:
            assert rule.fences is not None
            fences = rule.fences
            outliers = max(round(rule.outside_share * stats.numeric), len(extremes))
    return ColumnVerdict(
        inferred_type=kind,
        valid=valid,
        formatted=formatted,
        minority_dates=minority,
        minority_date_pattern=minority_pattern,
        id_like=id_like,
        clusters=clusters,
        close=close,
        fences=fences,
        outliers_estimate=outliers,
        quantiles=quantiles,
        skew=skew,
        outlier_rule=rule,
        extremes=extremes,
    )
