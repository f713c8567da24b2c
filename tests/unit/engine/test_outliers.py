"""The outlier rule on its own: skew, gaps, caps and the columns it leaves alone."""

from __future__ import annotations

import math

import numpy as np

from domain.engine.options import EngineOptions
from domain.engine.outliers import fit_outlier_rule, skip_reason

OPTIONS = EngineOptions()


def test_a_lone_typo_among_normal_values_is_beyond_the_fence() -> None:
    values = np.random.default_rng(1).normal(170, 9, 2_000).round()
    rule = fit_outlier_rule(np.append(values, 1750.0), OPTIONS)
    assert rule.method == "mad"
    assert rule.fences is not None
    assert values.max() <= rule.fences[1] < 1750


def test_a_log_normal_tail_is_shape_not_outliers() -> None:
    values = np.exp(np.random.default_rng(2).normal(4, 1.1, 5_000))
    rule = fit_outlier_rule(values, OPTIONS)
    assert rule.fences is None or not np.any(values > rule.fences[1])


def test_a_log_scale_judges_only_the_high_side() -> None:
    values = np.exp(np.random.default_rng(3).normal(4, 0.5, 3_000))
    rule = fit_outlier_rule(np.append(values, [0.0, 0.0, 1e7]), OPTIONS)
    assert rule.method == "log_mad"
    assert rule.fences is not None
    assert math.isinf(rule.fences[0])
    assert values.max() < rule.fences[1] < 1e7


def test_never_more_than_the_cap() -> None:
    rng = np.random.default_rng(4)
    bulk = rng.normal(0, 1, 1_000)
    far = np.full(30, 1_000.0)  # 3 % far away: beyond the 0.5 % a side may hold
    rule = fit_outlier_rule(np.concatenate([bulk, far]), OPTIONS)
    assert rule.fences is None or math.isinf(rule.fences[1])


def test_constant_bulk_has_no_spread() -> None:
    assert fit_outlier_rule(np.full(100, 5.0), OPTIONS).reason == "no_spread"


def test_columns_left_alone() -> None:
    assert skip_reason("Latitude", -60, 78, 500, OPTIONS) == "coordinates"
    assert skip_reason("lon", -179, 179, 500, OPTIONS) == "coordinates"
    assert skip_reason("discount_pct", 0, 100, 500, OPTIONS) == "bounded_scale"
    assert skip_reason("click_share", 0, 0.9, 500, OPTIONS) == "bounded_scale"
    assert skip_reason("rating", 1, 5, 5, OPTIONS) == "few_distinct_values"
    assert skip_reason("concentration", 0, 5, 500, OPTIONS) is None  # not a "ratio"
    assert skip_reason("longitude", -500, 900, 500, OPTIONS) is None  # not in range
