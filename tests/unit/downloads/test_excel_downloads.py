from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook

from domain.downloads import excel_downloads
from domain.downloads.excel_downloads import (
    ROW_ISSUE_HEADER,
    SEVERITY_FILLS,
    cleaned_preview_rows,
    generate_excel_download,
)
from tests.unit.downloads.fakes import HEADER, StagedSinkDouble, make_content

SHEETS = ["Summary", "Issues", "Row issues", "Column profile", "Cleaned data"]


def _load(entry: dict[str, object]) -> Workbook:
    data = base64.b64decode(str(entry["content_base64"]))
    assert len(data) == entry["size_bytes"]
    return load_workbook(io.BytesIO(data))


def _values(workbook: Workbook, sheet: str) -> list[tuple[object, ...]]:
    return list(workbook[sheet].iter_rows(values_only=True))


def test_workbook_has_the_five_sheets_with_frozen_headers(tmp_path: Path) -> None:
    entry = generate_excel_download("an-1", "Sales Data.csv", make_content(tmp_path, 20))
    assert entry["file_name"] == "sales_data_report.xlsx"
    assert entry["format"] == "xlsx"
    workbook = _load(entry)
    assert workbook.sheetnames == SHEETS
    for name in SHEETS:
        assert workbook[name].freeze_panes == "A2"
        assert workbook[name]["A1"].font.bold
    assert workbook["Row issues"].column_dimensions["E"].width == 30


def test_summary_carries_scores_and_the_executive_summary(tmp_path: Path) -> None:
    workbook = _load(generate_excel_download("an-1", "s.csv", make_content(tmp_path, 20)))
    summary = dict(_values(workbook, "Summary")[1:18])
    assert summary["Analysis id"] == "an-1"
    assert summary["Timestamp (UTC)"] == "2026-11-29T12:34:56Z"
    assert summary["Completeness"] == 90.0
    assert summary["Consistency"] == 70.0
    assert "completeness 90.0" in str(summary["Executive summary"])


def test_issues_sheet_is_sorted_by_severity_and_coloured(tmp_path: Path) -> None:
    workbook = _load(generate_excel_download("an-1", "s.csv", make_content(tmp_path, 20)))
    rows = _values(workbook, "Issues")
    assert rows[0] == ("Severity", "Code", "Column", "Count", "Message", "Sample rows")
    assert [r[:2] for r in rows[1:]] == [
        ("critical", "ragged_rows"),
        ("high", "duplicate_rows"),
        ("medium", "null_sentinel"),
        ("info", "constant_column"),
    ]
    assert rows[3][5] == "2, 4"
    sheet = workbook["Issues"]
    for row in range(2, 6):
        severity = str(sheet.cell(row, 1).value)
        assert sheet.cell(row, 1).fill.fgColor.rgb.endswith(SEVERITY_FILLS[severity])


def test_row_issues_sheet_lists_issues_with_formula_values_neutralised(tmp_path: Path) -> None:
    workbook = _load(generate_excel_download("an-1", "s.csv", make_content(tmp_path, 30)))
    rows = _values(workbook, "Row issues")
    assert rows[0] == ROW_ISSUE_HEADER
    assert len(rows) == 31  # header + all 30, no note
    assert rows[1] == (
        2,
        "customer",
        "null_sentinel",
        "medium",
        "N/A",
        None,
        "unify_null_sentinels",
    )
    assert rows[2][4] == " Customer 1 "


def test_cleaned_data_sheet_neutralises_formulas(tmp_path: Path) -> None:
    workbook = _load(generate_excel_download("an-1", "s.csv", make_content(tmp_path, 14)))
    rows = _values(workbook, "Cleaned data")
    assert rows[0] == HEADER
    notes = [r[3] for r in rows[1:]]
    assert notes[:7] == [
        "ok",
        '\'=HYPERLINK("http://x")',
        "-12.5",
        "'@SUM(A1)",
        None,
        'a,b "quoted"',
        "'+1 555",
    ]
    sheet = workbook["Cleaned data"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_caps_cut_sheets_and_leave_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel_downloads, "ROW_ISSUES_SHEET_MAX_ROWS", 25)
    monkeypatch.setattr(excel_downloads, "CLEANED_SHEET_MAX_ROWS", 10)
    content = make_content(tmp_path, 60)
    workbook = _load(generate_excel_download("an-1", "s.csv", content))

    issues = _values(workbook, "Row issues")
    assert len(issues) == 1 + 25 + 1
    assert issues[-1][0] == (
        "Showing the first 25 of 60 row-level issues; the full list is in the JSON download."
    )
    cleaned = _values(workbook, "Cleaned data")
    assert len(cleaned) == 1 + 10 + 1
    assert "first 10 of 60 cleaned rows" in str(cleaned[-1][0])
    summary_notes = [r[0] for r in _values(workbook, "Summary") if "shows" in str(r[0])]
    assert len(summary_notes) == 2


def test_preview_rows_follow_the_cell_budget() -> None:
    assert cleaned_preview_rows(1) == excel_downloads.CLEANED_SHEET_MAX_ROWS
    assert cleaned_preview_rows(100) == excel_downloads.CLEANED_SHEET_MAX_CELLS // 100
    assert cleaned_preview_rows(10**9) == 1
    assert cleaned_preview_rows(0) == excel_downloads.CLEANED_SHEET_MAX_ROWS


def test_staged_workbook_is_written_to_a_non_seekable_stream(tmp_path: Path) -> None:
    sink = StagedSinkDouble()
    entry = generate_excel_download(
        "an-1", "s.csv", make_content(tmp_path, 20), inline=False, sink=sink
    )
    assert entry["status"] == "pending"
    assert "content_base64" not in entry
    workbook = load_workbook(io.BytesIO(sink.files["s_report.xlsx"]))
    assert workbook.sheetnames == SHEETS


def test_row_issue_severities_are_coloured_by_conditional_formatting(tmp_path: Path) -> None:
    workbook = _load(generate_excel_download("an-1", "s.csv", make_content(tmp_path, 30)))
    formatting = workbook["Row issues"].conditional_formatting
    rules = {
        rule.formula[0].strip('"'): (str(cf.sqref), rule.dxf.fill.bgColor.rgb)
        for cf in formatting
        for rule in cf.rules
    }
    assert set(rules) == set(SEVERITY_FILLS)
    for severity, (cells, rgb) in rules.items():
        assert cells == "D2:D31"
        assert rgb.endswith(SEVERITY_FILLS[severity])
