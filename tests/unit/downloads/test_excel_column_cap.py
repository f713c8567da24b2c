"""The workbook holds at most Excel's 16,384 columns; a wider cleaned table is cut with a note."""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from domain.downloads.excel_downloads import EXCEL_MAX_COLUMNS, generate_excel_download
from tests.unit.downloads.fakes import make_content


@pytest.mark.parametrize("width", [EXCEL_MAX_COLUMNS, 18_279, 20_000])
def test_a_wide_table_is_cut_at_excels_last_column_with_a_note(tmp_path: Path, width: int) -> None:
    wide = pa.table({f"col{i}": ["v"] for i in range(width)})
    content = dataclasses.replace(
        make_content(tmp_path, 3), cleaned_preview=wide, cleaned_row_total=1
    )
    entry = generate_excel_download("an-1", "wide.csv", content)
    workbook = load_workbook(io.BytesIO(base64.b64decode(str(entry["content_base64"]))))
    sheet = workbook["Cleaned data"]
    assert sheet.max_column == EXCEL_MAX_COLUMNS
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == f"col{EXCEL_MAX_COLUMNS - 1}"
    notes = [str(r[0]) for r in rows[2:] if r[0] is not None]
    summary = [str(r[0]) for r in workbook["Summary"].iter_rows(values_only=True)]
    if width > EXCEL_MAX_COLUMNS:
        expected = f"shows the first {EXCEL_MAX_COLUMNS:,} of {width:,} columns"
        assert any(expected in note for note in notes), notes
        assert any(expected in line for line in summary)
    else:
        assert not any("columns" in note for note in notes)
