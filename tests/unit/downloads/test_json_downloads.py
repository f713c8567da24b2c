from __future__ import annotations

import base64
import json
from pathlib import Path

import pyarrow as pa

from domain.downloads.content import ReportContent
from domain.downloads.json_downloads import generate_json_download
from domain.model import ROW_ISSUE_SCHEMA
from tests.unit.downloads.fakes import StagedSinkDouble, make_content


def _parse(entry: dict[str, object]) -> dict[str, object]:
    data = base64.b64decode(str(entry["content_base64"]))
    assert len(data) == entry["size_bytes"]
    parsed: dict[str, object] = json.loads(data)
    return parsed


def test_json_report_is_the_final_object_with_one_trail_entry_per_decision(
    tmp_path: Path,
) -> None:
    content = make_content(tmp_path, 1_234)
    entry = generate_json_download("an-1", "Sales Data.csv", content)
    assert entry["file_name"] == "sales_data_report.json"
    document = _parse(entry)

    assert document["analysis_id"] == "an-1"
    report = document["report"]
    assert isinstance(report, dict)
    assert report["rowLevelIssues"] == content.final_object["report"]["rowLevelIssues"]
    assert report["rowLevelIssuesTotal"] == 1_234
    # the fake issues alternate: even offsets are N/A sentinels, odd ones padded names
    sentinel, padded = report["rowLevelTrail"]
    assert sentinel == {
        "column": "customer",
        "code": "null_sentinel",
        "severity": "medium",
        "action": "unify_null_sentinels",
        "cells": 617,
        "rows": list(range(2, 1_236, 2)),  # single rows are numbers
        "rowsTruncated": False,
        "changes": [{"old": "N/A", "new": None, "count": 617}],
        "changesUnlisted": 0,
    }
    assert padded["code"] == "whitespace"
    assert padded["cells"] == 617
    assert {(c["old"], c["new"]) for c in padded["changes"]} == {
        (f" Customer {i} ", f"Customer {i}") for i in range(7)
    }
    assert sum(c["count"] for c in padded["changes"]) == 617
    # everything else is the final object as built
    for key in ("alerts", "issues", "recommendations", "executiveSummary", "issueSummary"):
        assert report[key] == content.final_object["report"][key]
    assert set(report) == {*content.final_object["report"], "rowLevelTrail"}


def test_row_issue_values_with_quotes_newlines_and_unicode_survive(tmp_path: Path) -> None:
    hostile = ['say "hi"\nnext line', "naïve — ünïcode ✓", "back\\slash\ttab\x01", None]
    hostile += ["nul\x00 del\x7f", "line\u2028sep 😀", "", ",", '{"json": [1]}']
    table = pa.Table.from_pylist(
        [
            {
                "row": i,
                "column": None,
                "code": "c",
                "severity": "low",
                "old_value": v,
                "new_value": v,
                "action": "a",
            }
            for i, v in enumerate(hostile)
        ],
        schema=ROW_ISSUE_SCHEMA,
    )
    content = make_content(tmp_path, 0)
    content = ReportContent(
        final_object=content.final_object,
        row_issues=lambda: iter(table.to_batches(max_chunksize=1)),
        row_issue_total=len(hostile),
        cleaned_preview=content.cleaned_preview,
        cleaned_row_total=0,
    )
    report = _parse(generate_json_download("an-1", "s.csv", content))["report"]
    assert isinstance(report, dict)
    (entry,) = report["rowLevelTrail"]
    assert [c["old"] for c in entry["changes"]] == hostile
    assert [c["new"] for c in entry["changes"]] == hostile
    assert entry["column"] is None
    assert entry["rows"] == [[0, len(hostile) - 1]]


def test_empty_row_issue_list_is_an_empty_array(tmp_path: Path) -> None:
    report = _parse(generate_json_download("an-1", "s.csv", make_content(tmp_path, 0)))["report"]
    assert isinstance(report, dict)
    assert report["rowLevelIssues"] == []
    assert report["rowLevelTrail"] == []
    assert report["rowLevelIssuesTotal"] == 0


def test_staged_json_report_has_metadata_only(tmp_path: Path) -> None:
    sink = StagedSinkDouble()
    entry = generate_json_download(
        "an-1", "s.csv", make_content(tmp_path, 5), inline=False, sink=sink
    )
    assert entry["status"] == "pending"
    assert "content_base64" not in entry
    report = json.loads(sink.files["s_report.json"])["report"]
    assert sum(entry["cells"] for entry in report["rowLevelTrail"]) == 5
