"""XLSX input: the first worksheet is analysed like a CSV, rows numbered as in the sheet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from domain.engine import EngineOptions, analyze_input
from domain.reading import read_chunks, sniff_source
from domain.reading import xlsx as xlsx_reading


@pytest.fixture(params=["calamine", "openpyxl"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each row reader: python-calamine (small workbooks, the default) and
    openpyxl's streaming mode (workbooks above CALAMINE_MAX_SHEET_XML_BYTES)."""
    if request.param == "openpyxl":
        monkeypatch.setattr(xlsx_reading, "CALAMINE_MAX_SHEET_XML_BYTES", -1)
    return str(request.param)


def test_workbook_is_profiled_and_cleaned(tmp_path: Path, reader: str) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(["Order ID", "Customer", "Amount", "Day"])
    sheet.append([1, " Ann ", 12.5, dt.date(2024, 1, 2)])
    sheet.append([2, "Bob", 3, dt.date(2024, 1, 3)])
    sheet.append([2, "Bob", 3, dt.date(2024, 1, 3)])
    sheet.append([3, "=1+2", None, None])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)

    analysis = analyze_input(path)
    profile = analysis.profile
    assert profile.source.input_format == "xlsx"
    assert profile.source.sheet == "Orders"
    assert profile.cleaned_header == ("Order ID", "Customer", "Amount", "Day")  # as written
    chunks = list(analysis.iter_cleaned())
    rows = [r for c in chunks for r in c.batch.to_pylist()]
    assert rows[0] == {"Order ID": "1", "Customer": "Ann", "Amount": "12.5", "Day": "2024-01-02"}
    assert len(rows) == 3
    issues = pa.concat_tables([c.issues for c in chunks]).to_pylist()
    found = {(i["row"], i["code"]) for i in issues}
    assert (2, "leading_trailing_whitespace") in found
    assert (4, "duplicate_row") in found
    assert (5, "formula_injection_risk") not in found  # data_only: the formula has no cached value
    types = {c.name: c.inferred_type for c in profile.columns}
    assert types["Amount"] == "decimal"
    assert types["Day"] == "date"


def _read(path: Path) -> tuple[list[int], list[dict[str, str]]]:
    chunks = list(read_chunks(sniff_source(path), 1 << 16))
    return [int(r) for c in chunks for r in c.rows], [
        r for c in chunks for r in c.table.to_pylist()
    ]


def test_both_readers_give_the_same_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Column A empty, a blank row inside, numbers, dates, times, booleans and text: the two
    readers number and render every cell alike."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([None, "id", "when", "at", "ok", "note"])
    sheet.append([None, 1, dt.date(2024, 2, 29), dt.time(13, 5), True, " padded "])
    sheet.append([])
    sheet.append([None, 2.5, dt.datetime(2024, 3, 1, 8, 30), None, False, "x"])
    sheet.append([None, 12345678901, None, None, None, "=not a formula"])
    path = tmp_path / "cells.xlsx"
    workbook.save(path)

    calamine = _read(path)
    monkeypatch.setattr(xlsx_reading, "CALAMINE_MAX_SHEET_XML_BYTES", -1)
    streamed = _read(path)
    assert calamine == streamed
    rows, values = calamine
    assert rows == [2, 3, 4, 5]
    assert values[0] == {
        "c0": "",
        "c1": "1",
        "c2": "2024-02-29",
        "c3": "13:05:00",
        "c4": "true",
        "c5": " padded ",
    }
    assert values[2]["c2"] == "2024-03-01 08:30:00"
    assert values[3]["c1"] == "12345678901"


def test_progress_counts_rows_before_the_end(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(["n", "text"])
    for n in range(30_000):
        sheet.append([n, f"row {n}"])
    path = tmp_path / "rows.xlsx"
    workbook.save(path)
    seen: list[int] = []
    analyze_input(
        path,
        progress=lambda done, _total: seen.append(done),
        options=EngineOptions(block_size=64 << 10),  # chunks of 2,048 rows
    )
    size = path.stat().st_size
    assert len(seen) > 2
    assert 0 < seen[0] < size
    assert seen == sorted(seen)
    assert seen[-1] == size
