"""XLSX input: the first worksheet is analysed like a CSV, rows numbered as in the sheet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pyarrow as pa

from domain.engine import analyze_input


def test_workbook_is_profiled_and_cleaned(tmp_path: Path) -> None:
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
    assert profile.cleaned_header == ("order_id", "customer", "amount", "day")
    chunks = list(analysis.iter_cleaned())
    rows = [r for c in chunks for r in c.batch.to_pylist()]
    assert rows[0] == {"order_id": "1", "customer": "Ann", "amount": "12.5", "day": "2024-01-02"}
    assert len(rows) == 3
    issues = pa.concat_tables([c.issues for c in chunks]).to_pylist()
    found = {(i["row"], i["code"]) for i in issues}
    assert (2, "leading_trailing_whitespace") in found
    assert (4, "duplicate_row") in found
    assert (5, "formula_injection_risk") not in found  # data_only: the formula has no cached value
    types = {c.name: c.inferred_type for c in profile.columns}
    assert types["amount"] == "decimal"
    assert types["day"] == "date"
