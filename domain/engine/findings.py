"""Turn one column's statistics and verdict into findings and recommendations."""

from __future__ import annotations

from typing import Any

from domain.engine.options import EngineOptions
from domain.engine.profiling import ColumnStats
from domain.engine.verdicts import ColumnVerdict
from domain.model import Finding, Recommendation, Severity


def _missing_severity(share: float, options: EngineOptions) -> Severity:
    if share >= options.missing_high_share:
        return Severity.HIGH
    if share >= options.missing_medium_share:
        return Severity.MEDIUM
    return Severity.LOW


def find_column_problems(
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
                f"Cells in '{name}' starting with = + - @ are kept as they are; to give them "
                "a leading apostrophe in the cleaned CSV, run with --formulas neutralise "
                "(FORMULA_CELLS=neutralise).",
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
