"""End of pass 1: infer column types, turn statistics into findings, recommendations, the
cleaning plan with its routing decisions, and the scores."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.engine import patterns
from domain.engine.clusters import Cluster, find_close_spellings, find_clusters
from domain.engine.headers import find_header_problems
from domain.engine.options import EngineOptions
from domain.engine.plan import CleaningPlan, ColumnPlan
from domain.engine.profiling import ColumnStats, Profiler
from domain.model import (
    ColumnProfile,
    Finding,
    Recommendation,
    RoutingDecision,
    Scores,
    Severity,
    Shape,
    SourceInfo,
)

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


@dataclass(frozen=True)
class Summary:
    columns: tuple[ColumnProfile, ...]
    findings: tuple[Finding, ...]
    recommendations: tuple[Recommendation, ...]
    routing: tuple[RoutingDecision, ...]
    scores: Scores
    shape: Shape
    plan: CleaningPlan
    verdicts: tuple[ColumnVerdict, ...]


def _fits(stats: ColumnStats, *kinds: str) -> int:
    return sum(stats.matches[k] for k in kinds if k in stats.alive)


def infer_type(stats: ColumnStats, options: EngineOptions) -> tuple[str, int, int]:
    """(type, cells fitting it, formatted numbers among them)."""
    non_null = stats.non_null
    if non_null == 0:
        return "empty", 0, 0
    need = options.type_fit_share * non_null
    numbers = _fits(stats, "decimal", "formatted")
    if numbers and numbers >= need:
        formatted = _fits(stats, "formatted")
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


def judge_column(stats: ColumnStats, options: EngineOptions) -> ColumnVerdict:
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
        ranked = [v for v, _ in stats.top(options.edit_distance_values) if v not in merged]
        close = tuple(find_close_spellings(ranked, options.edit_distance_max))
    fences: tuple[float, float] | None = None
    outliers = 0
    quantiles: dict[str, float] = {}
    skew: float | None = None
    if kind in ("integer", "decimal") and not id_like and stats.sample.size >= 4:
        quantiles = _quantiles(stats.sample)
        iqr = quantiles["q3"] - quantiles["q1"]
        low = quantiles["q1"] - options.iqr_k * iqr
        high = quantiles["q3"] + options.iqr_k * iqr
        if iqr > 0:
            fences = (low, high)
            outside = int(np.count_nonzero((stats.sample < low) | (stats.sample > high)))
            outliers = round(outside * stats.numeric / stats.sample.size)
        skew = _skew(stats)
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
    )


def _missing_severity(share: float, options: EngineOptions) -> Severity:
    if share >= options.missing_high_share:
        return Severity.HIGH
    if share >= options.missing_medium_share:
        return Severity.MEDIUM
    return Severity.LOW


def _fit_pattern(kind: str) -> str | None:
    return {
        "boolean": patterns.BOOLEAN,
        "date": f"{patterns.DATE_ISO}|{patterns.DATE_OTHER}",
        "datetime": f"{patterns.DATE_ISO}|{patterns.DATE_OTHER}|{patterns.DATETIME}",
        "code": patterns.DECIMAL,
    }.get(kind)


def _column_findings(
    stats: ColumnStats, verdict: ColumnVerdict, name: str, options: EngineOptions
) -> tuple[list[Finding], list[Recommendation]]:
    found: list[Finding] = []
    advice: list[Recommendation] = []
    count = stats.count
    share = stats.missing / count if count else 0.0

    def add(
        code: str,
        severity: Severity,
        message: str,
        n: int,
        rows: list[int] | None = None,
        **details: Any,
    ) -> None:
        found.append(Finding(code, severity, message, name, n, tuple(rows or ()), details))

    if verdict.inferred_type == "empty":
        add(
            "empty_column", Severity.MEDIUM, f"Column '{name}' has no values; it is dropped.", count
        )
        return found, advice
    if stats.sentinel:
        add(
            "null_sentinel",
            Severity.LOW,
            f"{stats.sentinel} cell(s) in '{name}' hold a null placeholder (NA, null, -, ...).",
            stats.sentinel,
            stats.sentinel_rows.rows,
        )
    if stats.missing and share > options.missing_low_share:
        add(
            "missing_values",
            _missing_severity(share, options),
            f"{share:.1%} of '{name}' is missing.",
            stats.missing,
            share=round(share, 4),
        )
    distinct = stats.distinct(options.kmv_size)
    if distinct == 1 and count > 1:
        add("constant_column", Severity.LOW, f"Column '{name}' holds a single value.", count)
    if verdict.id_like:
        add(
            "id_like_column",
            Severity.INFO,
            f"Column '{name}' looks like an identifier (every value unique).",
            count,
        )
    invalid = stats.non_null - verdict.valid
    if invalid and verdict.inferred_type != "text":
        add(
            "type_mismatch",
            Severity.MEDIUM,
            f"{invalid} value(s) in '{name}' do not fit its type ({verdict.inferred_type}).",
            invalid,
            expected_type=verdict.inferred_type,
        )
    if verdict.formatted:
        add(
            "numeric_formatting",
            Severity.LOW,
            f"{verdict.formatted} number(s) in '{name}' carry thousands separators or currency "
            "signs; converted to plain digits.",
            verdict.formatted,
        )
    if verdict.inferred_type == "code" and stats.leading_zero:
        add(
            "leading_zero_code",
            Severity.INFO,
            f"'{name}' holds codes with leading zeros; kept as text.",
            stats.leading_zero,
        )
    if verdict.minority_dates:
        add(
            "mixed_date_formats",
            Severity.MEDIUM,
            f"{verdict.minority_dates} date(s) in '{name}' use a different format from the rest.",
            verdict.minority_dates,
        )
    if verdict.outliers_estimate and verdict.fences:
        add(
            "outliers",
            Severity.LOW,
            f"About {verdict.outliers_estimate} value(s) in '{name}' lie outside the IQR fences.",
            verdict.outliers_estimate,
            low=verdict.fences[0],
            high=verdict.fences[1],
            estimated=stats.sample.size < stats.numeric,
        )
    if verdict.skew is not None and abs(verdict.skew) > options.skew_threshold:
        add(
            "skewed_distribution",
            Severity.INFO,
            f"'{name}' is strongly skewed (skewness {verdict.skew:.2f}).",
            stats.numeric,
            skewness=round(verdict.skew, 3),
        )
    if stats.whitespace:
        add(
            "leading_trailing_whitespace",
            Severity.LOW,
            f"{stats.whitespace} value(s) in '{name}' have leading or trailing spaces; trimmed.",
            stats.whitespace,
            stats.whitespace_rows.rows,
        )
    case_only = [c for c in verdict.clusters if c.case_only]
    spelled = [c for c in verdict.clusters if not c.case_only]
    for code, group, what in (
        ("case_noise", case_only, "differ only in letter case"),
        ("inconsistent_spelling", spelled, "are spellings of one value"),
    ):
        if group:
            cells = sum(c.cells for c in group)
            add(
                code,
                Severity.LOW if code == "case_noise" else Severity.MEDIUM,
                f"{len(group)} group(s) of values in '{name}' {what}; merged ({cells} cells).",
                cells,
                clusters={c.canonical: list(c.variants[:20]) for c in group[:50]},
            )
    if stats.formula:
        add(
            "formula_injection_risk",
            Severity.HIGH,
            f"{stats.formula} cell(s) in '{name}' start with = + - or @ and could run as a "
            "spreadsheet formula.",
            stats.formula,
            stats.formula_rows.rows,
        )
        advice.append(
            Recommendation(
                "neutralise_formulas",
                f"Prefix cells in '{name}' starting with = + - @ with a quote before "
                "opening them in a spreadsheet.",
                name,
            )
        )
    for first, second, distance in verdict.close[:20]:
        advice.append(
            Recommendation(
                "review_similar_spellings",
                f"'{first}' and '{second}' in '{name}' are {distance} edit(s) apart; same value?",
                name,
                {"values": [first, second], "distance": distance},
            )
        )
    if share >= options.missing_medium_share:
        advice.append(
            Recommendation(
                "review_missing_values",
                f"'{name}' is {share:.0%} empty; impute, fill from the source or drop it.",
                name,
            )
        )
    if verdict.outliers_estimate:
        advice.append(
            Recommendation(
                "review_outliers",
                f"Check the outliers of '{name}' (flagged in the row-level issues).",
                name,
            )
        )
    return found, advice


def summarize(
    profiler: Profiler,
    labels: tuple[str, ...],
    names: tuple[str, ...],
    source: SourceInfo,
    options: EngineOptions,
) -> Summary:
    table = profiler.table
    findings: list[Finding] = find_header_problems(labels, names)
    recommendations: list[Recommendation] = []
    columns: list[ColumnProfile] = []
    verdicts: list[ColumnVerdict] = []
    plans: list[ColumnPlan] = []
    dropped: list[str] = []
    rows_kept = table.rows - table.blank_rows - table.duplicate_rows
    if table.ragged_rows:
        findings.append(
            Finding(
                "ragged_row",
                Severity.HIGH,
                f"{table.ragged_rows} row(s) have a different number of cells than the header "
                f"({table.ragged_too_many} too many, {table.ragged_too_few} too few); padded or "
                "truncated.",
                None,
                table.ragged_rows,
                tuple(table.ragged_sample.rows),
                {"too_many": table.ragged_too_many, "too_few": table.ragged_too_few},
            )
        )
    if table.blank_rows:
        findings.append(
            Finding(
                "blank_rows",
                Severity.LOW,
                f"{table.blank_rows} blank row(s); dropped.",
                None,
                table.blank_rows,
                tuple(table.blank_sample.rows),
            )
        )
    if table.duplicate_rows:
        findings.append(
            Finding(
                "duplicate_rows",
                Severity.MEDIUM,
                f"{table.duplicate_rows} exact duplicate row(s); dropped.",
                None,
                table.duplicate_rows,
                tuple(table.duplicate_sample.rows),
            )
        )
    cells_total = non_null_total = invalid_total = noisy_total = missing_total = 0
    trimmed = formatted = merged = 0
    for stats, label, name in zip(profiler.columns, labels, names, strict=True):
        verdict = judge_column(stats, options)
        verdicts.append(verdict)
        found, advice = _column_findings(stats, verdict, name, options)
        findings.extend(found)
        recommendations.extend(advice)
        distinct = stats.distinct(options.kmv_size)
        non_null = stats.non_null
        invalid = non_null - verdict.valid
        merged_cells = sum(c.cells for c in verdict.clusters)
        cells_total += stats.count
        non_null_total += non_null
        missing_total += stats.missing
        invalid_total += invalid
        noisy_total += stats.whitespace + verdict.formatted + merged_cells + verdict.minority_dates
        trimmed += stats.whitespace
        formatted += verdict.formatted
        merged += merged_cells
        stat_values: dict[str, Any] = {}
        if stats.numeric:
            mean = stats.sums[0] / stats.numeric + (stats.pivot or 0.0)
            var = max(stats.sums[1] / stats.numeric - (stats.sums[0] / stats.numeric) ** 2, 0.0)
            stat_values = {
                "min": stats.minimum,
                "max": stats.maximum,
                "mean": float(mean),
                "std": math.sqrt(var),
                **verdict.quantiles,
            }
            if verdict.skew is not None:
                stat_values["skewness"] = round(verdict.skew, 4)
            stat_values["quantiles_from_sample"] = bool(stats.sample.size < stats.numeric)
        columns.append(
            ColumnProfile(
                name=name,
                original_name=label,
                position=stats.position,
                inferred_type=verdict.inferred_type,
                count=stats.count,
                missing=stats.missing,
                missing_share=round(stats.missing / stats.count, 6) if stats.count else 0.0,
                distinct=distinct,
                distinct_is_estimate=not stats.exact_distinct,
                invalid=invalid,
                stats=stat_values,
                top_values=tuple(stats.top(options.top_values)),
            )
        )
        source_col = f"c{stats.position}"
        if verdict.inferred_type == "empty":
            dropped.append(source_col)
            continue
        plans.append(
            ColumnPlan(
                source=source_col,
                name=name,
                inferred_type=verdict.inferred_type,
                convert_numbers=verdict.inferred_type in ("integer", "decimal"),
                merge={v: c.canonical for c in verdict.clusters for v in c.variants},
                case_only=frozenset(v for c in verdict.clusters if c.case_only for v in c.variants),
                fit_pattern=_fit_pattern(verdict.inferred_type),
                minority_date_pattern=verdict.minority_date_pattern,
                fences=verdict.fences,
            )
        )
    plan = CleaningPlan(columns=tuple(plans), dropped=tuple(dropped))
    sentinels = sum(s.sentinel for s in profiler.columns)
    shape = Shape(
        rows_in=table.rows, columns_in=len(labels), rows_out=rows_kept, columns_out=len(plans)
    )
    renamed = sum(1 for a, b in zip(labels, names, strict=True) if a != b)
    routing = (
        RoutingDecision(
            "trim_whitespace",
            trimmed > 0,
            "leading/trailing spaces removed",
            before=trimmed,
            after=0,
            changed=trimmed,
        ),
        RoutingDecision(
            "unify_null_sentinels",
            sentinels > 0,
            "placeholders such as NA, null, - become empty",
            before=sentinels,
            after=0,
            changed=sentinels,
        ),
        RoutingDecision(
            "drop_blank_rows",
            table.blank_rows > 0,
            "rows without any value",
            before=table.rows,
            after=table.rows - table.blank_rows,
            changed=table.blank_rows,
        ),
        RoutingDecision(
            "drop_duplicate_rows",
            table.duplicate_rows > 0,
            "exact duplicates after trimming and null unification; first kept",
            before=table.rows - table.blank_rows,
            after=rows_kept,
            changed=table.duplicate_rows,
        ),
        RoutingDecision(
            "drop_empty_columns",
            bool(dropped),
            "columns without any value",
            columns=tuple(
                n
                for n, s in zip(names, profiler.columns, strict=True)
                if f"c{s.position}" in dropped
            ),
            before=len(labels),
            after=len(plans),
            changed=len(dropped),
        ),
        RoutingDecision(
            "normalize_headers",
            renamed > 0,
            "unique snake_case column names",
            before=len(labels),
            after=len(labels),
            changed=renamed,
        ),
        RoutingDecision(
            "convert_numbers",
            formatted > 0,
            "thousands separators and currency signs removed in numeric columns; "
            "code-like columns stay text",
            columns=tuple(p.name for p in plans if p.convert_numbers),
            before=formatted,
            after=0,
            changed=formatted,
        ),
        RoutingDecision(
            "merge_spelling_clusters",
            merged > 0,
            "spellings with the same fingerprint merged into the most frequent",
            columns=tuple(p.name for p in plans if p.merge),
            before=merged,
            after=0,
            changed=merged,
        ),
        RoutingDecision(
            "impute_missing_values",
            False,
            "no imputation by default",
            before=missing_total,
            after=missing_total,
            changed=0,
        ),
    )
    scores = Scores(
        completeness=_percent(1 - missing_total / cells_total if cells_total else 1.0),
        validity=_percent(1 - invalid_total / non_null_total if non_null_total else 1.0),
        uniqueness=_percent(1 - table.duplicate_rows / table.rows if table.rows else 1.0),
        consistency=_percent(1 - noisy_total / non_null_total if non_null_total else 1.0),
    )
    return Summary(
        tuple(columns),
        tuple(findings),
        tuple(recommendations),
        routing,
        scores,
        shape,
        plan,
        tuple(verdicts),
    )


def _percent(share: float) -> float:
    return round(max(0.0, min(1.0, share)) * 100, 1)
