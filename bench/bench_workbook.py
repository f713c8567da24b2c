"""The workbook report alone: ``write_excel_report`` (the streaming writer of
``domain.downloads.xlsx_writer``, all five sheets with their styles) against a bare baseline in
the same run, openpyxl's write-only mode appending the same Row issues and Cleaned data cells
(no styles, no other sheets), on report content at the sheets' caps. Interleaved rounds.

    .venv/bin/python -m bench.bench_workbook [--rows 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bench.bench_generators import DiscardSink
from domain.downloads.content import ReportContent
from domain.downloads.entries import report_xlsx_spec
from domain.downloads.excel_downloads import (
    ROW_ISSUES_SHEET_MAX_ROWS,
    cleaned_preview_rows,
    write_excel_report,
)
from tests.unit.downloads.fakes import make_content


def _cells(content: ReportContent) -> tuple[list[list[Any]], list[list[Any]]]:
    """The Row issues and Cleaned data rows the report shows, as Python values."""
    issues: list[list[Any]] = []
    for batch in content.row_issues():
        columns = [column.to_pylist() for column in batch.columns]
        issues.extend(list(row) for row in zip(*columns, strict=True))
        if len(issues) >= ROW_ISSUES_SHEET_MAX_ROWS:
            break
    preview = content.cleaned_preview
    head = preview.slice(0, cleaned_preview_rows(preview.num_columns))
    cleaned = [list(row) for row in zip(*(c.to_pylist() for c in head.columns), strict=True)]
    return issues[:ROW_ISSUES_SHEET_MAX_ROWS], cleaned


def write_baseline(issues: list[list[Any]], cleaned: list[list[Any]]) -> int:
    workbook = Workbook(write_only=True)
    for title, rows in (("Row issues", issues), ("Cleaned data", cleaned)):
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return len(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="cleaned rows of the content")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        content = make_content(Path(scratch), args.rows)
        issues, cleaned = _cells(content)
        cells = sum(len(r) for r in issues) + sum(len(r) for r in cleaned)
        ours: list[float] = []
        bare: list[float] = []
        size = bare_size = 0
        for _ in range(args.repeat):
            sink = DiscardSink()
            started = time.perf_counter()
            written = write_excel_report(report_xlsx_spec("bench", "bench.csv"), content, sink)
            ours.append(time.perf_counter() - started)
            size = written.size_bytes
            started = time.perf_counter()
            bare_size = write_baseline(issues, cleaned)
            bare.append(time.perf_counter() - started)
    print(
        f"Row issues + Cleaned data: {len(issues):,} + {len(cleaned):,} rows, {cells:,} cells; "
        f"{args.repeat} rounds, interleaved"
    )
    print("| writer | median | best | bytes |\n|---|---|---|---|")
    print(
        f"| write_excel_report (five sheets, styles) | {statistics.median(ours):.3f} s | "
        f"{min(ours):.3f} s | {size:,} |"
    )
    print(
        f"| openpyxl write-only, the same two sheets' cells | {statistics.median(bare):.3f} s | "
        f"{min(bare):.3f} s | {bare_size:,} |"
    )
    ratio = statistics.median(bare) / statistics.median(ours)
    print(f"ratio of the medians (baseline / ours): {ratio:.1f}x")


if __name__ == "__main__":
    main()
