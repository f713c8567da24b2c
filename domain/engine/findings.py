"""Turn one column's statistics and verdict into findings and recommendations."""

from __future__ import annotations

from typing import Any

from domain.engine.codes import find_lost_leading_zeros
from domain.engine.options import EngineOptions
from domain.engine.profiling import ColumnStats
from domain.engine.quantities import find_mixed_formats
from domain.engine.verdicts import ColumnVerdict
from domain.model import Finding, Recommendation, Severity

MEASURED_TYPES = ("integer", "decimal", "date", "datetime", "boolean")


def _missing_severity(share: float, kind: str, options: EngineOptions) -> Severity:
    """By share; a text column's gaps are never high: text is often optional."""
    if share >= options.missing_high_share and kind in MEASURED_TYPES:
        return Severity.HIGH
    if share >= options.missing_medium_share:
        return Severity.MEDIUM
    return Severity.LOW


def _is_structural(
    stats: ColumnStats, verdict: ColumnVerdict, share: float, options: EngineOptions
) -> bool:
    """Missing by design: a text column, mostly empty, whose gaps are all plain blanks (no
    placeholder says "unknown") and whose values all fit; an optional or conditional field
    (an original title filled only where it differs from the title)."""
    return (
        verdict.inferred_type in ("text", "code")
        and share >= options.missing_medium_share
        and stats.sentinel == 0
        and stats.non_null == verdict.valid
    )


def describe_outliers(name: str, count: int, extremes: tuple[tuple[float, int], ...]) -> str:
    worst = ", ".join(f"{_number(v)} (row {r})" for v, r in extremes[:3])
    return f"{count} value(s) in '{name}' lie far from the rest; most extreme: {worst}."


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def find_column_problems(
    stats: ColumnStats,
    verdict: ColumnVerdict,
    name: str,
    options: EngineOptions,
    label: str | None = None,
) -> tuple[list[Finding], list[Recommendation]]:
    """``name`` is the column's name in the report, ``label`` its header label as written
    (default: ``name``), read for hints such as "zip" or "latitude"."""
    label = name if label is None else label
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
    structural = _is_structural(stats, verdict, share, options)
    if stats.missing and share > options.missing_low_share:
        # the share covers blanks and placeholders, the count only the blank cells: the
        # placeholders are the null_sentinel finding's, so no cell is counted twice
        if structural:
            add(
                "missing_values",
                Severity.INFO,
                f"'{name}' is filled in {1 - share:.0%} of rows; the other cells are plain "
                "blanks, as in an optional or conditional field.",
                stats.blank,
                stats.missing_rows.rows,
                share=round(share, 4),
                placeholders=stats.sentinel,
                structural=True,
            )
        else:
            add(
                "missing_values",
                _missing_severity(share, verdict.inferred_type, options),
                f"{share:.1%} of '{name}' is missing"
                + (
                    f" ({stats.sentinel} as placeholders, counted under null_sentinel)."
                    if stats.sentinel
                    else "."
                ),
                stats.blank,
                stats.missing_rows.rows or stats.sentinel_rows.rows,
                share=round(share, 4),
                placeholders=stats.sentinel,
                structural=False,
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
    if verdict.outliers_estimate and verdict.fences and verdict.outlier_rule:
        add(
            "outliers",
            Severity.LOW,
            describe_outliers(name, verdict.outliers_estimate, verdict.extremes),
            verdict.outliers_estimate,
            [r for _, r in verdict.extremes],
            **verdict.outlier_rule.describe(),
            extremes=[{"row": r, "value": v} for v, r in verdict.extremes],
            estimated=stats.sample.size < stats.numeric,
        )
    lost = find_lost_leading_zeros(label, stats, verdict.inferred_type)
    if lost is not None:
        example = int(lost.examples[0][0]) if lost.examples else 10 ** (lost.width - 2)
        add(
            "lost_leading_zeros",
            Severity.MEDIUM,
            f"About {lost.count} code(s) in '{name}' have fewer than {lost.width} digits, as "
            f"if read as numbers (e.g. {example} for {example:0{lost.width}d}); not changed.",
            lost.count,
            [r for _, r in lost.examples],
            width=lost.width,
            suggested_fix=f"left-pad with zeros to {lost.width} digits",
            examples=[{"row": r, "value": int(v)} for v, r in lost.examples],
        )
        advice.append(
            Recommendation(
                "restore_leading_zeros",
                f"Read '{name}' as text and left-pad it with zeros to {lost.width} digits.",
                name,
                {"width": lost.width},
            )
        )
    if stats.float_noise:
        add(
            "float_noise",
            Severity.LOW,
            f"{stats.float_noise} number(s) in '{name}' carry floating-point residue (such as "
            "3.2260000000000004); rounding to 15 significant digits restores them. Not changed.",
            stats.float_noise,
            stats.float_noise_rows.rows,
        )
    if verdict.inferred_type == "text" and stats.values is not None:
        mixed = find_mixed_formats(stats.values, stats.non_null, options.type_fit_share)
        if mixed is not None:
            kinds = ", ".join(f"{f} ({mixed.examples[f]!r})" for f in mixed.cells)
            add(
                "mixed_quantity_formats",
                Severity.MEDIUM,
                f"'{name}' writes one {mixed.quantity.replace('_', ' ')} in "
                f"{len(mixed.cells)} formats: {kinds}; not changed.",
                mixed.minority,
                quantity=mixed.quantity,
                formats=mixed.cells,
                examples=mixed.examples,
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
    if share >= options.missing_medium_share and not structural:
        remedy = (
            "impute, fill from the source or drop it"
            if verdict.inferred_type in MEASURED_TYPES
            else "fill it from the source where a value exists"
        )
        advice.append(
            Recommendation(
                "review_missing_values", f"'{name}' is {share:.0%} empty; {remedy}.", name
            )
        )
    if verdict.outliers_estimate and verdict.extremes:
        rows = ", ".join(str(r) for _, r in verdict.extremes[:5])
        advice.append(
            Recommendation(
                "review_outliers",
                f"Check the most extreme values of '{name}' (rows {rows}).",
                name,
            )
        )
    return found, advice
