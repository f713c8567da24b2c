"""The workbook's Cleaned data sheet stores numbers as numbers and dates as dates."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook

from domain.artifacts import MemorySink
from domain.downloads.typed_cells import typed_values
from domain.pipeline import run_analysis


def test_values_take_their_column_type_where_they_fit_it() -> None:
    assert typed_values(["12", "-3", None, "x1", "1234567890123456"], "integer") == [
        12,
        -3,
        None,
        "x1",
        "1234567890123456",  # more digits than a double holds: stays text
    ]
    assert typed_values(["1.5", "3.2260000000000004", "1e3", "n/a"], "decimal") == [
        1.5,
        3.2260000000000004,
        1000.0,
        "n/a",
    ]
    assert typed_values(["2024-02-29", "03/01/2024", "2024-13-01"], "date") == [
        date(2024, 2, 29),
        "03/01/2024",  # day and month order unknown: text
        "2024-13-01",
    ]
    assert typed_values(["2024-01-02 10:30:00", "2024-01-02"], "datetime") == [
        datetime(2024, 1, 2, 10, 30),
        date(2024, 1, 2),
    ]
    assert typed_values(["007", "010"], "code") == ["007", "010"]
    assert typed_values(["1", "2"], "text") == ["1", "2"]


def test_the_cleaned_data_sheet_has_typed_cells(tmp_path: Path) -> None:
    source = tmp_path / "sales.csv"
    source.write_text(
        "id,code,amount,day,city\n"
        '1,007,"1,234.50",2024-01-02,Oslo\n'
        "2,010,12,2024-01-03,Bergen\n"
        "3,011,5.25,2024-01-04,Oslo\n",
        encoding="utf-8",
    )
    result = run_analysis(source, analysis_id="typed", inline=True, sink=MemorySink())
    xlsx = next(a for a in result.artifacts if a.spec.file_name.endswith(".xlsx"))
    assert xlsx.content is not None
    sheet = load_workbook(io.BytesIO(xlsx.content))["Cleaned data"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0] == (1, "007", 1234.5, datetime(2024, 1, 2), "Oslo")
    assert all(isinstance(r[2], int | float) for r in rows)  # xlsx stores 12.0 as 12
    assert sum(r[2] for r in rows) == 1234.5 + 12 + 5.25
    assert sheet.cell(2, 4).is_date
    assert sheet.cell(2, 2).data_type == "s"
