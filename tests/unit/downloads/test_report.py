from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from domain.report import (
    ROW_LEVEL_ISSUES_IN_OBJECT,
    RowIssueDigest,
    assemble_final_object,
    build_report_body,
    format_timestamp,
)
from tests.unit.downloads.fakes import make_issues, make_profile

SEED_REPORT_KEYS = [
    "alerts",
    "issues",
    "recommendations",
    "executiveSummary",
    "analysisSummary",
    "rowLevelIssues",
    "issueSummary",
    "routing_decisions",
    "downloads",
]


def _digest(total: int) -> RowIssueDigest:
    preview = tuple(make_issues(range(min(total, ROW_LEVEL_ISSUES_IN_OBJECT))).to_pylist())
    return RowIssueDigest(total=total, by_code={"whitespace": total}, preview=preview)


def test_final_object_has_the_seed_shape_and_is_plain_json() -> None:
    body = build_report_body(make_profile(50), _digest(5_000))
    final = assemble_final_object(
        analysis_id="an-1",
        timestamp=datetime(2026, 11, 29, 12, 34, 56, 789, tzinfo=UTC),
        execution_time_ms=1234,
        body=body,
        downloads=[{"download_id": "d", "file_name": "f.csv"}],
    )
    assert list(final) == [
        "analysis_id",
        "tool",
        "status",
        "timestamp",
        "execution_time_ms",
        "report",
    ]
    assert final["tool"] == "clean-my-data"
    assert final["status"] == "success"
    assert final["timestamp"] == "2026-11-29T12:34:56Z"
    assert all(key in final["report"] for key in SEED_REPORT_KEYS)
    assert final["report"]["downloads"] == [{"download_id": "d", "file_name": "f.csv"}]
    assert json.loads(json.dumps(final, allow_nan=False)) == final


def test_row_level_issues_are_bounded_with_total_and_flag() -> None:
    report = build_report_body(make_profile(50), _digest(5_000))
    assert len(report["rowLevelIssues"]) == ROW_LEVEL_ISSUES_IN_OBJECT
    assert report["rowLevelIssuesTotal"] == 5_000
    assert report["rowLevelIssuesTruncated"] is True
    small = build_report_body(make_profile(50), _digest(7))
    assert len(small["rowLevelIssues"]) == 7
    assert small["rowLevelIssuesTruncated"] is False


def test_findings_become_issues_alerts_and_summary_counts() -> None:
    report = build_report_body(make_profile(50), _digest(10))
    assert [i["code"] for i in report["issues"]] == [
        "ragged_rows",
        "duplicate_rows",
        "null_sentinel",
        "constant_column",
    ]
    assert [a["severity"] for a in report["alerts"]] == ["critical", "high"]
    ragged = report["issues"][0]
    assert ragged["details"] == {"line": 7, "cells": [6], "ratio": None}
    summary = report["issueSummary"]
    assert summary["total_findings"] == 4
    assert summary["by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 0, "info": 1}
    assert summary["by_code"]["null_sentinel"] == 1  # findings, not cells
    assert summary["affected_cells_by_code"]["null_sentinel"] == 3
    assert summary["affected_rows_by_code"]["duplicate_rows"] == 2
    assert summary["row_level_total"] == 10
    assert summary["row_level_by_code"] == {"whitespace": 10}


def test_executive_summary_states_the_four_scores_in_plain_words() -> None:
    text = build_report_body(make_profile(50), _digest(10))["executiveSummary"]
    for phrase in ("completeness 90.0", "validity 80.0", "uniqueness 95.0", "consistency 70.0"):
        assert phrase in text
    assert "53 rows and 5 columns analysed; 50 rows and 4 columns after cleaning" in text
    assert "Most important: Row 7 has 6 cells." in text


def test_routing_and_analysis_summary() -> None:
    report = build_report_body(make_profile(50), _digest(0))
    routing = report["routing_decisions"]
    assert routing["applied"] == ["trim_whitespace"]
    assert routing["skipped"] == ["impute_missing"]
    assert routing["decisions"][0]["changed"] == 5
    summary = report["analysisSummary"]
    assert summary["shape"] == {"rows_in": 53, "columns_in": 5, "rows_out": 50, "columns_out": 4}
    assert summary["scores"]["overall"] == 83.8
    assert [c["name"] for c in summary["columns"]] == ["order_id", "customer", "amount", "note"]
    assert summary["columns"][0]["top_values"][0] == {"value": "a", "count": 3}


def test_timestamps_are_utc_whole_seconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert (
        format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=plus_two)) == "2026-01-02T01:04:05Z"
    )
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
