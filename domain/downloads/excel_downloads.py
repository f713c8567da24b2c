"""The Excel workbook report, written with openpyxl's write-only mode (rows go to disk as they
are appended; the workbook is never held whole).

Sheets: Summary, Issues, Row issues, Column profile, Cleaned data. Every sheet has a frozen,
bold header row, set column widths and, where a severity is shown, a fill colour per severity
(per cell on the small sheets; on Row issues through conditional-formatting rules on the
Severity column, which cost nothing per row).

Caps (openpyxl writes roughly 100,000 cells per second, so the caps keep the workbook's share of
an ``analyze`` run to about one second whatever the input size, and far below Excel's
1,048,576-row limit):

* Issues and Column profile: at most :data:`TABLE_SHEET_MAX_ROWS` rows.
* Row issues: the first :data:`ROW_ISSUES_SHEET_MAX_ROWS` row-level issues.
* Cleaned data: a preview of at most :data:`CLEANED_SHEET_MAX_CELLS` cells and
  :data:`CLEANED_SHEET_MAX_ROWS` rows (see :func:`cleaned_preview_rows`).

A sheet that was cut ends with a note row saying how much is shown and where the rest is (the
JSON download has every row-level issue, the CSV download the full cleaned data).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, BinaryIO, Final

import pyarrow as pa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.cells import prepare_for_xlsx, prepare_text_for_xlsx
from domain.downloads.content import ReportContent
from domain.downloads.entries import choose_sink, describe_download, report_xlsx_spec

EXCEL_MAX_ROWS: Final = 1_048_576
TABLE_SHEET_MAX_ROWS: Final = 10_000
ROW_ISSUES_SHEET_MAX_ROWS: Final = 5_000
CLEANED_SHEET_MAX_CELLS: Final = 50_000
CLEANED_SHEET_MAX_ROWS: Final = 5_000

SHEET_SUMMARY: Final = "Summary"
SHEET_ISSUES: Final = "Issues"
SHEET_ROW_ISSUES: Final = "Row issues"
SHEET_COLUMNS: Final = "Column profile"
SHEET_CLEANED: Final = "Cleaned data"

SEVERITY_FILLS: Final = {
    "critical": "FF9999",
    "high": "FFC7CE",
    "medium": "FFEB9C",
    "low": "DDEBF7",
    "info": "EDEDED",
}
_HEADER_FONT: Final = Font(bold=True)
_HEADER_FILL: Final = PatternFill("solid", fgColor="D9D9D9")
_NOTE_FONT: Final = Font(italic=True, color="7F7F7F")
_WRAP: Final = Alignment(wrap_text=True, vertical="top")
_FILLS: Final = {name: PatternFill("solid", fgColor=rgb) for name, rgb in SEVERITY_FILLS.items()}

ROW_ISSUE_HEADER: Final = ("Row", "Column", "Code", "Severity", "Old value", "New value", "Action")


def cleaned_preview_rows(column_count: int) -> int:
    """How many cleaned rows the Cleaned data sheet shows for a table this wide."""
    return max(1, min(CLEANED_SHEET_MAX_ROWS, CLEANED_SHEET_MAX_CELLS // max(1, column_count)))


def _start_sheet(
    workbook: Workbook, title: str, header: Sequence[str], widths: Sequence[float]
) -> WriteOnlyWorksheet:
    sheet: WriteOnlyWorksheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        # present at run time on write-only sheets; missing from the openpyxl stubs
        sheet.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
    cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cells.append(cell)
    sheet.append(cells)
    return sheet


def _append_note(sheet: WriteOnlyWorksheet, text: str) -> None:
    cell = WriteOnlyCell(sheet, value=text)
    cell.font = _NOTE_FONT
    sheet.append([cell])


def _severity_cell(sheet: WriteOnlyWorksheet, severity: str) -> Cell:
    cell = WriteOnlyCell(sheet, value=severity)
    fill = _FILLS.get(severity)
    if fill is not None:
        cell.fill = fill
    return cell


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return prepare_text_for_xlsx(value)
    if value is None or isinstance(value, int | float | bool):
        return value
    return prepare_text_for_xlsx(str(value))


def _write_summary(workbook: Workbook, final_object: Mapping[str, Any], notes: list[str]) -> None:
    sheet = _start_sheet(workbook, SHEET_SUMMARY, ("Item", "Value"), (28, 110))
    report = final_object["report"]
    summary = report["analysisSummary"]
    source, shape, scores = summary["source"], summary["shape"], summary["scores"]
    rows: list[tuple[str, Any]] = [
        ("Analysis id", final_object["analysis_id"]),
        ("Tool", final_object["tool"]),
        ("Timestamp (UTC)", final_object["timestamp"]),
        ("Input file", source["file_name"]),
        ("Input size (bytes)", source["size_bytes"]),
        ("Encoding", source["encoding"]),
        ("Delimiter", source["delimiter"]),
        ("Rows in / out", f"{shape['rows_in']} / {shape['rows_out']}"),
        ("Columns in / out", f"{shape['columns_in']} / {shape['columns_out']}"),
        ("Overall score", scores["overall"]),
        ("Completeness", scores["completeness"]),
        ("Validity", scores["validity"]),
        ("Uniqueness", scores["uniqueness"]),
        ("Consistency", scores["consistency"]),
        ("Findings", report["issueSummary"]["total_findings"]),
        ("Row-level issues", report["rowLevelIssuesTotal"]),
    ]
    for label, value in rows:
        sheet.append([label, _text(value)])
    summary_cell = WriteOnlyCell(sheet, value=_text(report["executiveSummary"]))
    summary_cell.alignment = _WRAP
    sheet.append(["Executive summary", summary_cell])
    for severity, count in report["issueSummary"]["by_severity"].items():
        sheet.append([_severity_cell(sheet, severity), count])
    for note in notes:
        _append_note(sheet, note)


def _write_issues(workbook: Workbook, issues: Sequence[Mapping[str, Any]]) -> None:
    header = ("Severity", "Code", "Column", "Count", "Message", "Sample rows")
    sheet = _start_sheet(workbook, SHEET_ISSUES, header, (11, 28, 24, 10, 90, 30))
    for issue in issues[:TABLE_SHEET_MAX_ROWS]:
        sample = ", ".join(str(row) for row in issue.get("sample_rows", []))
        sheet.append(
            [
                _severity_cell(sheet, str(issue["severity"])),
                _text(issue["code"]),
                _text(issue.get("column")),
                issue.get("count"),
                _text(issue["message"]),
                sample,
            ]
        )
    if len(issues) > TABLE_SHEET_MAX_ROWS:
        _append_note(
            sheet,
            f"Showing the first {TABLE_SHEET_MAX_ROWS:,} of {len(issues):,} findings; "
            "all are in the JSON download.",
        )


def _row_issue_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[list[Any]]:
    for batch in batches:
        columns = [prepare_for_xlsx(column).to_pylist() for column in batch.columns]
        yield from (list(row) for row in zip(*columns, strict=True))


def _colour_severity_column(sheet: WriteOnlyWorksheet, column: int, last_row: int) -> None:
    """One conditional-formatting rule per severity over the column (no per-cell styles)."""
    letter = get_column_letter(column)
    cells = f"{letter}2:{letter}{max(2, last_row)}"
    for severity, rgb in SEVERITY_FILLS.items():
        # differential (conditional) fills: Excel paints a solid dxf fill with bgColor
        fill = PatternFill("solid", fgColor=rgb, bgColor=rgb)
        rule = Rule(
            type="cellIs",
            operator="equal",
            formula=[f'"{severity}"'],
            dxf=DifferentialStyle(fill=fill),
        )
        # set up by Worksheet._setup on write-only sheets too; missing from the openpyxl stubs
        sheet.conditional_formatting.add(cells, rule)  # type: ignore[attr-defined]


def _write_row_issues(workbook: Workbook, content: ReportContent) -> None:
    sheet = _start_sheet(workbook, SHEET_ROW_ISSUES, ROW_ISSUE_HEADER, (9, 22, 24, 10, 30, 30, 24))
    shown = min(content.row_issue_total, ROW_ISSUES_SHEET_MAX_ROWS)
    _colour_severity_column(sheet, ROW_ISSUE_HEADER.index("Severity") + 1, shown + 1)
    written = 0
    for row in islice(_row_issue_rows(content.row_issues()), shown):
        sheet.append(row)
        written += 1
    if content.row_issue_total > written:
        _append_note(
            sheet,
            f"Showing the first {written:,} of {content.row_issue_total:,} row-level issues; "
            "the full list is in the JSON download.",
        )


def _write_columns(workbook: Workbook, columns: Sequence[Mapping[str, Any]]) -> None:
    header = (
        "Column",
        "Original name",
        "Type",
        "Rows",
        "Missing",
        "Missing %",
        "Distinct",
        "Invalid",
        "Min",
        "Max",
        "Top values",
    )
    widths = (24, 24, 11, 10, 10, 10, 10, 10, 16, 16, 50)
    sheet = _start_sheet(workbook, SHEET_COLUMNS, header, widths)
    for column in columns[:TABLE_SHEET_MAX_ROWS]:
        stats = column.get("stats", {})
        top = ", ".join(f"{item['value']} ({item['count']})" for item in column["top_values"][:5])
        distinct = (
            f"~{column['distinct']}" if column["distinct_is_estimate"] else column["distinct"]
        )
        sheet.append(
            [
                _text(column["name"]),
                _text(column["original_name"]),
                column["inferred_type"],
                column["count"],
                column["missing"],
                round(100 * float(column["missing_share"]), 2),
                distinct,
                column["invalid"],
                _text(stats.get("min")),
                _text(stats.get("max")),
                _text(top),
            ]
        )
    if len(columns) > TABLE_SHEET_MAX_ROWS:
        _append_note(
            sheet, f"Showing {TABLE_SHEET_MAX_ROWS:,} of {len(columns):,} columns; see the JSON."
        )


def _write_cleaned(workbook: Workbook, content: ReportContent) -> None:
    preview = content.cleaned_preview
    header = [prepare_text_for_xlsx(name) for name in preview.column_names]
    sheet = _start_sheet(workbook, SHEET_CLEANED, header, [18.0] * len(header))
    limit = cleaned_preview_rows(len(header))
    head = preview.slice(0, limit)
    columns = [prepare_for_xlsx(column).to_pylist() for column in head.columns]
    for row in zip(*columns, strict=True):
        sheet.append(list(row))
    if content.cleaned_row_total > head.num_rows:
        _append_note(
            sheet,
            f"Showing the first {head.num_rows:,} of {content.cleaned_row_total:,} cleaned rows; "
            "the full cleaned data is in the CSV download.",
        )


def write_excel_report(
    spec: ArtifactSpec, content: ReportContent, sink: ArtifactSink
) -> WrittenArtifact:
    """Write the workbook into one artifact of ``sink``."""
    report = content.final_object["report"]

    rows_shown = min(content.row_issue_total, ROW_ISSUES_SHEET_MAX_ROWS)
    preview_shown = min(
        content.cleaned_preview.num_rows, cleaned_preview_rows(content.cleaned_preview.num_columns)
    )
    notes: list[str] = []
    if content.row_issue_total > rows_shown:
        notes.append(
            f"Sheet '{SHEET_ROW_ISSUES}' shows {rows_shown:,} of "
            f"{content.row_issue_total:,} rows; the JSON download has every row."
        )
    if content.cleaned_row_total > preview_shown:
        notes.append(
            f"Sheet '{SHEET_CLEANED}' shows {preview_shown:,} of "
            f"{content.cleaned_row_total:,} rows; the CSV download has the full data."
        )

    def write(stream: BinaryIO) -> None:
        workbook = Workbook(write_only=True)
        _write_summary(workbook, content.final_object, notes)
        _write_issues(workbook, report["issues"])
        _write_row_issues(workbook, content)
        _write_columns(workbook, report["analysisSummary"]["columns"])
        _write_cleaned(workbook, content)
        workbook.save(stream)

    return sink.write_artifact(spec, write)


def generate_excel_download(
    analysis_id: str,
    source_name: str,
    content: ReportContent,
    *,
    inline: bool = True,
    sink: ArtifactSink | None = None,
) -> dict[str, Any]:
    """Write the workbook report and return its download entry."""
    spec = report_xlsx_spec(analysis_id, source_name)
    written = write_excel_report(spec, content, choose_sink(inline, sink))
    return describe_download(written, inline)
