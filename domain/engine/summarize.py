"""End of pass 1: assemble column profiles, findings, recommendations, the cleaning plan with
its routing decisions, and the scores."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from domain.engine import patterns
from domain.engine.duplicate_policy import (
    HOW_TO_DROP,
    describe_duplicates,
    drops_duplicates,
    duplicate_routing_reason,
    find_key_column,
)
from domain.engine.findings import find_column_problems
from domain.engine.grouping import group_findings, group_recommendations
from domain.engine.headers import find_header_problems
from domain.engine.options import EngineOptions
from domain.engine.placeholders import (
    count_kept_as_values,
    describe_kept_placeholders,
    judge_placeholders,
)
from domain.engine.plan import CleaningPlan, ColumnPlan
from domain.engine.profiling import Profiler, count_unmeasured
from domain.engine.verdicts import ColumnVerdict, infer_type, judge_column, reads_lone_groups
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


def _fit_pattern(kind: str) -> str | None:
    return {
        "boolean": patterns.BOOLEAN,
        "date": f"{patterns.DATE_ISO}|{patterns.DATE_OTHER}",
        "datetime": f"{patterns.DATE_ISO}|{patterns.DATE_OTHER}|{patterns.DATETIME}",
        "code": patterns.DECIMAL,
    }.get(kind)


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
    dropped_placeholders: list[tuple[str, str]] = []
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
    duplicates_at = len(findings)  # the duplicate finding goes here once the key is known
    cells_total = non_null_total = invalid_total = noisy_total = missing_total = 0
    trimmed = formatted = merged = 0
    kept_tokens: list[frozenset[str]] = []
    for stats, label, name in zip(profiler.columns, labels, names, strict=True):
        placeholders = judge_placeholders(
            stats.tokens,
            infer_type(stats, options)[0],
            stats.top(options.edit_distance_values),
        )
        count_kept_as_values(stats, placeholders.kept)
        kept_tokens.append(frozenset(placeholders.kept))
        verdict = judge_column(stats, options, label)
        verdicts.append(verdict)
        found, advice = find_column_problems(stats, verdict, name, options, label)
        findings.extend(found)
        if placeholders.kept:
            findings.append(describe_kept_placeholders(name, placeholders.kept))
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
            if verdict.outlier_rule is not None:
                stat_values["outlier_check"] = verdict.outlier_rule.describe()
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
            if stats.sentinel or table.duplicate_rows:  # repeats were not profiled
                dropped_placeholders.append((source_col, name))
            continue
        plans.append(
            ColumnPlan(
                source=source_col,
                name=name,
                inferred_type=verdict.inferred_type,
                convert_numbers=verdict.inferred_type in ("integer", "decimal"),
                converts_lone_groups=reads_lone_groups(stats),
                merge={v: c.canonical for c in verdict.clusters for v in c.variants},
                case_only=frozenset(v for c in verdict.clusters if c.case_only for v in c.variants),
                fit_pattern=_fit_pattern(verdict.inferred_type),
                minority_date_pattern=verdict.minority_date_pattern,
                has_sentinels=stats.sentinel > 0,
                has_whitespace=stats.whitespace > 0,
                has_formatted=verdict.formatted > 0,
                has_invalid=invalid > 0,
                has_formula_risk=stats.formula > 0,
                kept_tokens=kept_tokens[-1],
            )
        )
    findings.extend(_find_unmeasured_rows(profiler, verdicts, labels, options))
    if any(kept_tokens):  # a row blank in pass 1 may hold kept values in pass 2: check all
        plans = [replace(p, has_sentinels=True, has_whitespace=True) for p in plans]
    key = find_key_column(list(zip(names, profiler.columns, verdicts, strict=True)), options)
    drop_duplicates = drops_duplicates(options, key)
    if table.duplicate_rows and not drop_duplicates:
        # kept repeats were not profiled: their spaces and placeholders may be the only ones
        plans = [replace(p, has_sentinels=True, has_whitespace=True) for p in plans]
    if not drop_duplicates:
        rows_kept += table.duplicate_rows
    if table.duplicate_rows:
        findings.insert(
            duplicates_at,
            Finding(
                "duplicate_rows",
                Severity.MEDIUM,
                describe_duplicates(
                    table.duplicate_rows,
                    dropped=drop_duplicates,
                    key=key,
                    choice=options.duplicates,
                ),
                None,
                table.duplicate_rows,
                tuple(table.duplicate_sample.rows),
                {"dropped": drop_duplicates, "key_column": key},
            ),
        )
        if not drop_duplicates:
            recommendations.append(
                Recommendation(
                    "drop_duplicate_rows",
                    f"{table.duplicate_rows} row(s) repeat an earlier row exactly and were "
                    f"kept; if they are not real repeats, drop them with {HOW_TO_DROP}.",
                )
            )
    plan = CleaningPlan(
        columns=tuple(plans),
        dropped=tuple(dropped),
        dropped_placeholders=tuple(dropped_placeholders),
        drop_duplicate_rows=drop_duplicates,
        neutralise_formulas=options.formula_cells == "neutralise",
        duplicate_key=key,
    )
    sentinels = sum(s.sentinel for s in profiler.columns)
    shape = Shape(
        rows_in=table.rows, columns_in=len(labels), rows_out=rows_kept, columns_out=len(plans)
    )
    renamed = sum(1 for a, b in zip(labels, names, strict=True) if a != b)
    formula_cells = sum(s.formula for s in profiler.columns)
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
            "placeholders such as n/a, null, - become empty where the column's other values "
            "show they mean missing",
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
            drop_duplicates and table.duplicate_rows > 0,
            duplicate_routing_reason(drop_duplicates, key, options.duplicates),
            before=table.rows - table.blank_rows,
            after=rows_kept,
            changed=table.duplicate_rows if drop_duplicates else 0,
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
            "blank, repeated, formula-like or unprintable labels renamed; the others kept",
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
            "neutralise_formulas",
            plan.neutralise_formulas and formula_cells > 0,
            "cells starting with = + - @ get a leading apostrophe"
            if plan.neutralise_formulas
            else "formula-like cells kept exact and reported (formula cells option: keep)",
            columns=tuple(p.name for p in plans if p.has_formula_risk),
            before=formula_cells,
            after=0 if plan.neutralise_formulas else formula_cells,
            changed=formula_cells if plan.neutralise_formulas else 0,
        ),
        RoutingDecision(
            "repair_ragged_rows",
            table.ragged_rows > 0,
            "rows with too few cells padded with empty cells, extra cells cut",
            before=table.ragged_rows,
            after=0,
            changed=table.ragged_rows,
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
    # codes that lost their zeros are invalid values; residue and mixed formats inconsistent
    invalid_total += sum(f.count for f in findings if f.code == "lost_leading_zeros")
    noisy_total += sum(
        f.count for f in findings if f.code in ("float_noise", "mixed_quantity_formats")
    )
    scores = Scores(
        completeness=percent_score(1 - missing_total / cells_total if cells_total else 1.0),
        validity=percent_score(1 - invalid_total / non_null_total if non_null_total else 1.0),
        uniqueness=percent_score(1 - table.duplicate_rows / table.rows if table.rows else 1.0),
        consistency=percent_score(1 - noisy_total / non_null_total if non_null_total else 1.0),
    )
    return Summary(
        tuple(columns),
        tuple(group_findings(findings, options.sample_rows)),
        tuple(group_recommendations(recommendations)),
        routing,
        scores,
        shape,
        plan,
        tuple(verdicts),
    )


def _find_unmeasured_rows(
    profiler: Profiler,
    verdicts: list[ColumnVerdict],
    names: tuple[str, ...],
    options: EngineOptions,
) -> list[Finding]:
    """Rows with no value in any measured column (the numeric columns that are not
    identifiers), when there are at least two of them and other columns beside."""
    measured = frozenset(
        stats.position
        for stats, verdict in zip(profiler.columns, verdicts, strict=True)
        if verdict.inferred_type in ("integer", "decimal") and not verdict.id_like
    )
    if len(measured) < 2 or len(measured) == len(names):
        return []
    count, rows, exact = count_unmeasured(profiler.table, measured, options.sample_rows)
    if not count:
        return []
    columns = [names[p] for p in sorted(measured)]
    return [
        Finding(
            "rows_without_measurements",
            Severity.MEDIUM,
            f"{'' if exact else 'At least '}{count} row(s) have no value in any measured "
            f"column ({', '.join(columns[:5])}{', ...' if len(columns) > 5 else ''}); kept.",
            None,
            count,
            tuple(rows),
            {"columns": columns[:50], "exact": exact},
        )
    ]


def percent_score(share: float) -> float:
    """0..100 with one decimal, rounded down: any problem keeps a score below 100."""
    return math.floor(max(0.0, min(1.0, share)) * 1000 + 1e-9) / 10
