"""The Excel workbook report, streamed by :mod:`domain.downloads.xlsx_writer` (rows go into
the file as they are appended; the workbook is never held whole).

Sheets: Summary, Issues, Row issues, Column profile, Cleaned data. Every sheet has a frozen,
bold header row, set column widths and, where a severity is shown, a fill colour per severity
(per cell on the small sheets; on Row issues through conditional-formatting rules on the
Severity column, which cost nothing per row).

Caps (they keep the workbook a preview that opens at once, and far below Excel's
1,048,576-row limit; the other downloads hold everything):

* Issues and Column profile: at most :data:`TABLE_SHEET_MAX_ROWS` rows.
* Row issues: the first :data:`ROW_ISSUES_SHEET_MAX_ROWS` row-level issues.
* Cleaned data: a preview of at most :data:`CLEANED_SHEET_MAX_CELLS` cells and
  :data:`CLEANED_SHEET_MAX_ROWS` rows (see :func:`cleaned_preview_rows`).

Values are written as they are: a string that starts with ``=`` goes into a text cell (never a
formula, no apostrophe added), and the Cleaned data sheet stores the cells of integer, decimal,
date and datetime columns as numbers and dates (:mod:`domain.downloads.typed_cells`), so
spreadsheet functions such as SUM work on them.

A sheet that was cut ends with a note row saying how much is shown and where the rest is (the
row trail download (Parquet) has every row-level issue, the CSV the full cleaned data).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, BinaryIO, Final

import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.cells import prepare_for_xlsx, prepare_text_for_xlsx
from domain.downloads.content import ReportContent
from domain.downloads.detachable import DetachableStream
from domain.downloads.entries import choose_sink, describe_download, report_xlsx_spec
from domain.downloads.typed_cells import typed_values
from domain.downloads.xlsx_writer import (
    MAX_COLUMNS,
    MAX_ROWS,
    Sheet,
    Style,
    Styled,
    ValueFills,
    XlsxWriter,
)

EXCEL_MAX_ROWS: Final = MAX_ROWS
EXCEL_MAX_COLUMNS: Final = MAX_COLUMNS  # column XFD; wider tables are cut (the CSV has them all)
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
_HEADER: Final = Style(bold=True, fill="D9D9D9")
_NOTE: Final = Style(italic=True, color="7F7F7F")
_WRAP: Final = Style(wrap=True)
_SEVERITIES: Final = {name: Style(fill=rgb) for name, rgb in SEVERITY_FILLS.items()}
_TOOL: Final = "clean-my-data"

ROW_ISSUE_HEADER: Final = ("Row", "Column", "Code", "Severity", "Old value", "New value", "Action")


def cleaned_preview_rows(column_count: int) -> int:
    """How many cleaned rows the Cleaned data sheet shows for a table this wide."""
    return max(1, min(CLEANED_SHEET_MAX_ROWS, CLEANED_SHEET_MAX_CELLS // max(1, column_count)))


def _start_sheet(
    writer: XlsxWriter,
    title: str,
    header: Sequence[str],
    widths: Sequence[float],
    fills: ValueFills | None = None,
) -> Sheet:
    sheet = writer.add_sheet(title, widths, fills)
    sheet.append([Styled(label, _HEADER) for label in header])
    return sheet


def _append_note(sheet: Sheet, text: str) -> None:
    sheet.append([Styled(text, _NOTE)])


def _severity_cell(severity: str) -> Any:
    style = _SEVERITIES.get(severity)
    return severity if style is None else Styled(severity, style)


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return prepare_text_for_xlsx(value)
    if value is None or isinstance(value, int | float | bool):
        return value
    return prepare_text_for_xlsx(str(value))


def _write_summary(writer: XlsxWriter, final_object: Mapping[str, Any], notes: list[str]) -> None:
    sheet = _start_sheet(writer, SHEET_SUMMARY, ("Item", "Value"), (28, 110))
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
    sheet.append(["Executive summary", Styled(_text(report["executiveSummary"]), _WRAP)])
    for severity, count in report["issueSummary"]["by_severity"].items():
        sheet.append([_severity_cell(severity), count])
    for note in notes:
        _append_note(sheet, note)


def _write_issues(writer: XlsxWriter, issues: Sequence[Mapping[str, Any]]) -> None:
    header = ("Severity", "Code", "Column", "Count", "Message", "Sample rows")
    sheet = _start_sheet(writer, SHEET_ISSUES, header, (11, 28, 24, 10, 90, 30))
    for issue in issues[:TABLE_SHEET_MAX_ROWS]:
        sample = ", ".join(str(row) for row in issue.get("sample_rows", []))
        sheet.append(
            [
                _severity_cell(str(issue["severity"])),
                _text(issue["code"]),
                _text(issue.get("column")),
                issue.get("count"),
                _text(issue["message"]),
                sample,
            ],
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


def _write_row_issues(writer: XlsxWriter, content: ReportContent) -> None:
    shown = min(content.row_issue_total, ROW_ISSUES_SHEET_MAX_ROWS)
    # one conditional-formatting rule per severity over the column (no per-cell styles)
    fills = ValueFills(ROW_ISSUE_HEADER.index("Severity") + 1, 2, shown + 1, SEVERITY_FILLS)
    widths = (9, 22, 24, 10, 30, 30, 24)
    sheet = _start_sheet(writer, SHEET_ROW_ISSUES, ROW_ISSUE_HEADER, widths, fills)
    sheet.append_rows(islice(_row_issue_rows(content.row_issues()), shown))
    written = sheet.rows - 1
    if content.row_issue_total > written:
        _append_note(
            sheet,
            f"Showing the first {written:,} of {content.row_issue_total:,} row-level issues; "
            "the full list is in the row trail download (Parquet).",
        )


def _write_columns(writer: XlsxWriter, columns: Sequence[Mapping[str, Any]]) -> None:
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
    sheet = _start_sheet(writer, SHEET_COLUMNS, header, widths)
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
            ],
        )
    if len(columns) > TABLE_SHEET_MAX_ROWS:
        _append_note(
            sheet, f"Showing {TABLE_SHEET_MAX_ROWS:,} of {len(columns):,} columns; see the JSON."
        )


def _columns_note(total: int) -> str:
    return (
        f"Sheet '{SHEET_CLEANED}' shows the first {EXCEL_MAX_COLUMNS:,} of {total:,} columns "
        "(Excel's limit); the CSV download has them all."
    )


def _write_cleaned(writer: XlsxWriter, content: ReportContent) -> None:
    preview = content.cleaned_preview
    if preview.num_columns > EXCEL_MAX_COLUMNS:
        preview = preview.select(range(EXCEL_MAX_COLUMNS))
    header = [prepare_text_for_xlsx(name) for name in preview.column_names]
    sheet = _start_sheet(writer, SHEET_CLEANED, header, [18.0] * len(header))
    limit = cleaned_preview_rows(len(header))
    head = preview.slice(0, limit)
    kinds = {
        column["name"]: column["inferred_type"]
        for column in content.final_object["report"]["analysisSummary"]["columns"]
    }
    columns = [
        typed_values(prepare_for_xlsx(column).to_pylist(), kinds.get(name, "text"))
        for name, column in zip(preview.column_names, head.columns, strict=True)
    ]
    sheet.append_rows(zip(*columns, strict=True))
    if content.cleaned_row_total > head.num_rows:
        _append_note(
            sheet,
            f"Showing the first {head.num_rows:,} of {content.cleaned_row_total:,} cleaned rows; "
            "the full cleaned data is in the CSV download.",
        )
    if content.cleaned_preview.num_columns > EXCEL_MAX_COLUMNS:
        _append_note(sheet, _columns_note(content.cleaned_preview.num_columns))


def write_excel_report(
    spec: ArtifactSpec, content: ReportContent, sink: ArtifactSink
) -> WrittenArtifact:
    """Write the workbook into one artifact of ``sink``."""
    report = content.final_object["report"]

    rows_shown = min(content.row_issue_total, ROW_ISSUES_SHEET_MAX_ROWS)
    preview_shown = min(
        content.cleaned_preview.num_rows,
        cleaned_preview_rows(min(content.cleaned_preview.num_columns, EXCEL_MAX_COLUMNS)),
    )
    notes: list[str] = []
    if content.row_issue_total > rows_shown:
        notes.append(
            f"Sheet '{SHEET_ROW_ISSUES}' shows {rows_shown:,} of "
            f"{content.row_issue_total:,} rows; the row trail download (Parquet) has every row."
        )
    if content.cleaned_row_total > preview_shown:
        notes.append(
            f"Sheet '{SHEET_CLEANED}' shows {preview_shown:,} of "
            f"{content.cleaned_row_total:,} rows; the CSV download has the full data."
        )

    if content.cleaned_preview.num_columns > EXCEL_MAX_COLUMNS:
        notes.append(_columns_note(content.cleaned_preview.num_columns))

    def write(stream: BinaryIO) -> None:
        target = DetachableStream(stream)
        writer = XlsxWriter(target, creator=_TOOL)
        try:
            _write_summary(writer, content.final_object, notes)
            _write_issues(writer, report["issues"])
            _write_row_issues(writer, content)
            _write_columns(writer, report["analysisSummary"]["columns"])
            _write_cleaned(writer, content)
            writer.close()
        except BaseException:
            writer.abandon()
            raise
        finally:
            target.detach()  # a failed zip writer, collected later, writes nowhere

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
