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


def test_json_report_holds_every_row_level_issue(tmp_path: Path) -> None:
    content = make_content(tmp_path, 1_234)
    entry = generate_json_download("an-1", "Sales Data.csv", content)
    assert entry["file_name"] == "sales_data_report.json"
    document = _parse(entry)

    assert document["analysis_id"] == "an-1"
    report = document["report"]
    assert isinstance(report, dict)
    issues = report["rowLevelIssues"]
    assert len(issues) == 1_234
    assert report["rowLevelIssuesTotal"] == 1_234
    assert report["rowLevelIssuesTruncated"] is False
    assert issues[0] == {
        "row": 2,
        "column": "customer",
        "code": "null_sentinel",
        "severity": "medium",
        "old_value": "N/A",
        "new_value": None,
        "action": "unify_null_sentinels",
    }
    assert [i["row"] for i in issues] == list(range(2, 1_236))
    # everything else is the final object as built
    for key in ("alerts", "issues", "recommendations", "executiveSummary", "issueSummary"):
        assert report[key] == content.final_object["report"][key]


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
    assert [i["old_value"] for i in report["rowLevelIssues"]] == hostile
    assert report["rowLevelIssues"][0]["column"] is None


def test_empty_row_issue_list_is_an_empty_array(tmp_path: Path) -> None:
    report = _parse(generate_json_download("an-1", "s.csv", make_content(tmp_path, 0)))["report"]
    assert isinstance(report, dict)
    assert report["rowLevelIssues"] == []
    assert report["rowLevelIssuesTotal"] == 0


def test_staged_json_report_has_metadata_only(tmp_path: Path) -> None:
    sink = StagedSinkDouble()
    entry = generate_json_download(
        "an-1", "s.csv", make_content(tmp_path, 5), inline=False, sink=sink
    )
    assert entry["status"] == "pending"
    assert "content_base64" not in entry
    assert len(json.loads(sink.files["s_report.json"])["report"]["rowLevelIssues"]) == 5
