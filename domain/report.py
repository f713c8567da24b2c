"""Assembly of the final object (docs/reference/final-object.md) from the engine's profile.

The object is plain JSON types only. Row-level issues are bounded in the object (the first
:data:`ROW_LEVEL_ISSUES_IN_OBJECT`, with the total and a truncation flag beside them); the full
list goes into the Parquet row trail, summarised per decision in the JSON report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from domain.model import (
    TOOL_NAME,
    ColumnProfile,
    Finding,
    Profile,
    Recommendation,
    RoutingDecision,
    Severity,
)

ROW_LEVEL_ISSUES_IN_OBJECT: Final = 100
STATUS_SUCCESS: Final = "success"
ALERT_SEVERITIES: Final = frozenset({Severity.CRITICAL, Severity.HIGH})
SEVERITY_ORDER: Final = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)
_SEVERITY_RANK: Final = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}


@dataclass(frozen=True)
class RowIssueDigest:
    """What the final object keeps of the row-level issues: a bounded preview and counts."""

    total: int = 0
    by_code: Mapping[str, int] = field(default_factory=dict)
    preview: tuple[Mapping[str, Any], ...] = ()


def format_timestamp(moment: datetime) -> str:
    """``2026-11-29T12:34:56Z`` (UTC, whole seconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_plain(value: Any) -> Any:
    """Mappings, sequences and scalars as JSON types (tuples become lists, NaN becomes None)."""
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def describe_finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "message": finding.message,
        "column": finding.column,
        "count": finding.count,
        "sample_rows": list(finding.sample_rows),
        "details": to_plain(finding.details),
    }


def describe_recommendation(recommendation: Recommendation) -> dict[str, Any]:
    return {
        "code": recommendation.code,
        "message": recommendation.message,
        "column": recommendation.column,
        "details": to_plain(recommendation.details),
    }


def describe_column(column: ColumnProfile) -> dict[str, Any]:
    return {
        "name": column.name,
        "original_name": column.original_name,
        "position": column.position,
        "inferred_type": column.inferred_type,
        "count": column.count,
        "missing": column.missing,
        "missing_share": round(column.missing_share, 4),
        "distinct": column.distinct,
        "distinct_is_estimate": column.distinct_is_estimate,
        "invalid": column.invalid,
        "stats": to_plain(column.stats),
        "top_values": [{"value": value, "count": count} for value, count in column.top_values],
    }


def describe_decision(decision: RoutingDecision) -> dict[str, Any]:
    return {
        "action": decision.action,
        "applied": decision.applied,
        "reason": decision.reason,
        "columns": list(decision.columns),
        "before": decision.before,
        "after": decision.after,
        "changed": decision.changed,
    }


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then most affected, then by code and column (stable output)."""
    return sorted(
        findings,
        key=lambda f: (
            _SEVERITY_RANK.get(f.severity, len(SEVERITY_ORDER)),
            -f.count,
            f.code,
            f.column or "",
        ),
    )


ROW_CODES: Final = frozenset(
    {"ragged_row", "blank_rows", "duplicate_rows", "rows_without_measurements"}
)
COLUMN_CODES: Final = frozenset({"blank_header", "duplicate_header", "header_renamed"})


def affected_unit(finding: Finding) -> str:
    """What a finding's count counts: "rows", "columns" (header labels) or "cells"."""
    if finding.code in ROW_CODES:
        return "rows"
    if finding.code in COLUMN_CODES:
        return "columns"
    return "cells"


def summarise_issues(findings: Sequence[Finding], digest: RowIssueDigest) -> dict[str, Any]:
    """Findings counted as findings (by severity, by code); what they affect counted apart,
    in one unit per table (cells, rows, header columns), never added across units."""
    by_severity = {str(severity): 0 for severity in SEVERITY_ORDER}
    by_code: dict[str, int] = {}
    affected: dict[str, dict[str, int]] = {"cells": {}, "rows": {}, "columns": {}}
    for finding in findings:
        by_severity[str(finding.severity)] = by_severity.get(str(finding.severity), 0) + 1
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
        unit = affected[affected_unit(finding)]
        unit[finding.code] = unit.get(finding.code, 0) + finding.count
    return {
        "total_findings": len(findings),
        "by_severity": by_severity,
        "by_code": dict(sorted(by_code.items())),
        "affected_cells_by_code": dict(sorted(affected["cells"].items())),
        "affected_rows_by_code": dict(sorted(affected["rows"].items())),
        "affected_columns_by_code": dict(sorted(affected["columns"].items())),
        "row_level_total": digest.total,
        "row_level_by_code": dict(sorted(digest.by_code.items())),
    }


def summarise_routing(routing: Sequence[RoutingDecision]) -> dict[str, Any]:
    return {
        "applied": [d.action for d in routing if d.applied],
        "skipped": [d.action for d in routing if not d.applied],
        "decisions": [describe_decision(d) for d in routing],
    }


def write_executive_summary(profile: Profile, digest: RowIssueDigest) -> str:
    """A few plain-language sentences a non-specialist can act on."""
    shape, scores = profile.shape, profile.scores
    findings = sort_findings(profile.findings)
    counts = summarise_issues(findings, digest)["by_severity"]
    severity_text = ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none"
    parts = [
        f"{profile.source.file_name}: {shape.rows_in:,} rows and {shape.columns_in:,} columns "
        f"analysed; {shape.rows_out:,} rows and {shape.columns_out:,} columns after cleaning.",
        f"Overall data quality {scores.overall:.1f}/100 (completeness {scores.completeness:.1f}, "
        f"validity {scores.validity:.1f}, uniqueness {scores.uniqueness:.1f}, "
        f"consistency {scores.consistency:.1f}).",
    ]
    if findings:
        parts.append(f"{len(findings)} findings ({severity_text}).")
        parts.append(f"Most important: {findings[0].message}")
    else:
        parts.append("No data-quality problems were found.")
    applied = [d for d in profile.routing if d.applied]
    if applied:
        actions = ", ".join(f"{d.action.replace('_', ' ')} ({d.changed:,})" for d in applied)
        parts.append(
            f"Cleaning applied {len(applied)} actions ({actions}); {digest.total:,} row-level "
            "changes and flags are listed cell by cell in the row trail (Parquet) and "
            "summarised in the JSON and Excel downloads."
        )
    else:
        parts.append("No cleaning action was needed.")
    return " ".join(parts)


def build_report_body(profile: Profile, digest: RowIssueDigest) -> dict[str, Any]:
    """The ``report`` member of the final object, without ``downloads``."""
    findings = sort_findings(profile.findings)
    issues = [describe_finding(f) for f in findings]
    scores = profile.scores
    source = profile.source
    preview = [to_plain(row) for row in digest.preview[:ROW_LEVEL_ISSUES_IN_OBJECT]]
    return {
        "alerts": [
            {k: issue[k] for k in ("code", "severity", "message", "column", "count")}
            for issue, finding in zip(issues, findings, strict=True)
            if finding.severity in ALERT_SEVERITIES
        ],
        "issues": issues,
        "recommendations": [describe_recommendation(r) for r in profile.recommendations],
        "executiveSummary": write_executive_summary(profile, digest),
        "analysisSummary": {
            "source": {
                "file_name": source.file_name,
                "size_bytes": source.size_bytes,
                "input_format": source.input_format,
                "encoding": source.encoding,
                "encoding_confidence": source.encoding_confidence,
                "delimiter": source.delimiter,
                "sheet": source.sheet,
            },
            "shape": {
                "rows_in": profile.shape.rows_in,
                "columns_in": profile.shape.columns_in,
                "rows_out": profile.shape.rows_out,
                "columns_out": profile.shape.columns_out,
            },
            "scores": {
                "completeness": scores.completeness,
                "validity": scores.validity,
                "uniqueness": scores.uniqueness,
                "consistency": scores.consistency,
                "overall": scores.overall,
            },
            "cleaned_header": list(profile.cleaned_header),
            "columns": [describe_column(c) for c in profile.columns],
        },
        "rowLevelIssues": preview,
        "rowLevelIssuesTotal": digest.total,
        "rowLevelIssuesTruncated": digest.total > len(preview),
        "issueSummary": summarise_issues(findings, digest),
        "routing_decisions": summarise_routing(profile.routing),
    }


def assemble_final_object(
    *,
    analysis_id: str,
    timestamp: datetime,
    execution_time_ms: int,
    body: Mapping[str, Any],
    downloads: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The final object: the seed's keys, ``report.downloads`` last."""
    report = dict(body)
    report["downloads"] = [dict(entry) for entry in downloads]
    return {
        "analysis_id": analysis_id,
        "tool": TOOL_NAME,
        "status": STATUS_SUCCESS,
        "timestamp": format_timestamp(timestamp),
        "execution_time_ms": execution_time_ms,
        "report": report,
    }
