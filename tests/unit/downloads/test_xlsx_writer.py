"""The streaming xlsx writer: what it writes reads back exactly, in openpyxl and in calamine,
every part is well-formed XML, and its limits are refused with a clear error."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from domain.downloads.detachable import DetachableStream
from domain.downloads.xlsx_writer import (
    MAX_COLUMNS,
    Style,
    Styled,
    ValueFills,
    XlsxWriter,
    column_letter,
)
from tests.support.workbooks import malformed_parts

HEADER = Style(bold=True, fill="D9D9D9")
NOTE = Style(italic=True, color="7F7F7F")
WRAP = Style(wrap=True)

VALUES: list[Any] = [
    "plain",
    "=SUM(A1:A2)",  # text, never a formula
    "  spaced  ",
    "a & b < c > d",
    "line\r\nbreak\ttab",
    "literal _x0041_ stays",
    "bell\x07 and \ufffe",
    42,
    -3.25,
    1e-05,
    True,
    None,
    "",
    date(2020, 8, 19),
    datetime(2021, 1, 2, 3, 4, 5, 500000),
    date(1899, 12, 31),  # before Excel's calendar is the real one: ISO text
    float("nan"),
]


def _workbook_bytes() -> bytes:
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer, creator="clean-my-data")
    summary = writer.add_sheet("Summary", widths=(12, 40.5))
    summary.append([Styled("Item", HEADER), Styled("Value", HEADER)])
    summary.append(VALUES)
    summary.append(["Summary text", Styled("wrapped text", WRAP)])
    summary.append([Styled("a note", NOTE)])
    fills = ValueFills(
        column=2, first_row=2, last_row=4, fills={"high": "FFC7CE", 'say "x"': "EDEDED"}
    )
    issues = writer.add_sheet("Row issues", widths=(9, 10), fills=fills)
    issues.append_rows([["Row", "Severity"], [2, "high"], [3, "low"], [4, 'say "x"']])
    writer.close()
    return buffer.getvalue()


def _expected_cell(value: Any) -> Any:
    """What openpyxl reads back for a value written by the writer."""
    if value is None or value == "":
        return None
    if value == "literal _x0041_ stays":  # openpyxl does not undo Excel's escape; Excel does
        return "literal _x005F_x0041_ stays"
    if value == "bell\x07 and \ufffe":
        return "bell\ufffd and \ufffd"
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return (
            value.isoformat() if value.year < 1900 else datetime(value.year, value.month, value.day)
        )
    if isinstance(value, float) and value != value:
        return "nan"
    return value


def test_every_part_is_well_formed_xml() -> None:
    workbook = _workbook_bytes()
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        names = archive.namelist()
    assert "[Content_Types].xml" in names
    assert "xl/worksheets/sheet2.xml" in names
    assert malformed_parts(workbook) == []


def test_values_read_back_exactly_in_openpyxl() -> None:
    workbook = load_workbook(io.BytesIO(_workbook_bytes()))
    assert workbook.sheetnames == ["Summary", "Row issues"]
    sheet = workbook["Summary"]
    row = [sheet.cell(2, i + 1).value for i in range(len(VALUES))]
    assert row == [_expected_cell(v) for v in VALUES]
    formula = sheet.cell(2, 2)
    assert formula.data_type == "s"  # a string, not a formula
    assert sheet.cell(2, 15).value == datetime(2021, 1, 2, 3, 4, 5, 500000)
    assert sheet.cell(2, 14).number_format == "yyyy-mm-dd"
    assert sheet.cell(2, 15).number_format == "yyyy-mm-dd h:mm:ss"


def test_serial_days_in_the_xml() -> None:
    with zipfile.ZipFile(io.BytesIO(_workbook_bytes())) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>44062</v>" in sheet  # 2020-08-19 as Excel's serial day


def test_values_read_back_in_calamine() -> None:
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(_workbook_bytes()))
        .get_sheet_by_name("Summary")
        .to_python()
    )
    assert rows[0][:2] == ["Item", "Value"]
    assert rows[1][:6] == [
        "plain",
        "=SUM(A1:A2)",
        "  spaced  ",
        "a & b < c > d",
        "line\r\nbreak\ttab",
        "literal _x0041_ stays",  # read back as written, as Excel reads it
    ]
    assert rows[1][7] == 42
    assert rows[1][13] == date(2020, 8, 19)


def test_styles_freeze_panes_widths_and_value_fills() -> None:
    workbook = load_workbook(io.BytesIO(_workbook_bytes()))
    sheet = workbook["Summary"]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 40.5
    header = sheet["A1"]
    assert header.font.bold
    assert header.fill.fgColor.rgb.endswith("D9D9D9")
    assert not sheet["A2"].font.bold
    assert sheet["B3"].alignment.wrap_text
    note = sheet["A4"]
    assert note.font.italic
    assert note.font.color.rgb.endswith("7F7F7F")
    rules = workbook["Row issues"].conditional_formatting
    (area,) = list(rules)
    assert str(area.sqref) == "B2:B4"
    found = {rule.formula[0]: rule.dxf.fill.bgColor.rgb[-6:] for rule in area.rules}
    assert found == {'"high"': "FFC7CE", '"say ""x"""': "EDEDED"}


def test_the_same_content_gives_the_same_bytes() -> None:
    assert _workbook_bytes() == _workbook_bytes()


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.data += bytes(data)
        return len(data)


def test_a_stream_that_cannot_seek_is_enough() -> None:
    target = _Unseekable()
    writer = XlsxWriter(DetachableStream(target))  # type: ignore[arg-type]
    writer.add_sheet("Data").append(["x", 1])
    writer.close()
    sheet = load_workbook(io.BytesIO(bytes(target.data)))["Data"]
    assert [c.value for c in sheet[1]] == ["x", 1]


class _Label(str):
    pass


def test_any_python_text_is_written() -> None:
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer)
    writer.add_sheet("Data").append(["bad \udce9 byte", _Label(""), _Label("label"), "x"])
    writer.close()
    row = [c.value for c in load_workbook(io.BytesIO(buffer.getvalue()))["Data"][1]]
    assert row == ["bad \ufffd byte", None, "label", "x"]


def test_limits_are_refused_with_a_clear_error() -> None:
    writer = XlsxWriter(io.BytesIO())
    with pytest.raises(ValueError, match="cannot be a sheet name"):
        writer.add_sheet("a/b")
    with pytest.raises(ValueError, match="cannot be a sheet name"):
        writer.add_sheet("'quoted'")
    with pytest.raises(ValueError, match="at least one sheet"):
        writer.close()
    writer.add_sheet("Data")
    with pytest.raises(ValueError, match="already has a sheet"):
        writer.add_sheet("data")
    with pytest.raises(ValueError, match="at most 16,384 columns"):
        writer.add_sheet("Wide").append([1] * (MAX_COLUMNS + 1))
    with pytest.raises(ValueError, match="outside"):
        column_letter(MAX_COLUMNS + 1)
    assert column_letter(MAX_COLUMNS) == "XFD"
    assert column_letter(28) == "AB"
