"""A streaming writer of xlsx workbooks (SpreadsheetML in a zip), for the workbook report.

Each sheet's XML goes straight into its zip entry as its rows are appended: nothing is held
whole, and a cell costs one string format instead of a cell object (the report's workbook is
written six to eight times faster than by openpyxl's write-only mode). What it writes:

* strings as inline strings (never formulas: a string starting with ``=`` is text), with
  ``& < >`` escaped and the characters XML 1.0 cannot hold (and lone surrogates, which
  UTF-8 cannot) replaced by U+FFFD;
* ``int`` and finite ``float`` as numbers, ``bool`` as booleans; other floats as their text;
* ``date`` and ``datetime`` (naive) as Excel serial numbers with a date format; dates before
  1900-03-01, where Excel's calendar is not the real one, as ISO text;
* ``None`` and ``""`` as no cell;
* per sheet: column widths, a frozen first row, and conditional fills by value on one column.

Cell styles (bold, italic, font colour, solid fill, wrapped text) are declared with
:class:`Style` and numbered as they are first used; the style sheet is written at the end.
Sheets are written one after the other: a sheet is finished when the next one starts.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any, Final, Protocol

from domain.downloads.cells import XML_ILLEGAL_CHARACTERS

MAX_ROWS: Final = 1_048_576
MAX_COLUMNS: Final = 16_384

_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE_PREFIX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_DATE_FORMAT: Final = "yyyy-mm-dd"
_DATETIME_FORMAT: Final = "yyyy-mm-dd h:mm:ss"
_EXCEL_EPOCH: Final = datetime(1899, 12, 30)
_FIRST_TRUE_DATE: Final = date(1900, 3, 1)  # Excel counts a 29 February 1900 before this
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)  # entries carry no wall-clock time
_DAY: Final = timedelta(days=1)
_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PAGE_MARGINS: Final = (
    '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
)

_ESCAPES: Final = {
    **{ord(c): "\ufffd" for c in XML_ILLEGAL_CHARACTERS},
    **dict.fromkeys(range(0xD800, 0xE000), "\ufffd"),  # lone surrogates
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord("\r"): "&#13;",  # a literal return survives XML's line-end normalisation
}
# Excel reads "_x" + four hex digits + "_" in text as an escaped character; a literal one is
# written with its underscore escaped, so that it reads back as it was
_EXCEL_ESCAPE: Final = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_NEEDS_ESCAPE: Final = re.compile("[" + re.escape("".join(map(chr, _ESCAPES))) + "]")
_BUFFERED_ROWS: Final = 256  # rows joined into one write of the zip entry
_ATTRIBUTE_ESCAPES: Final = {**_ESCAPES, ord('"'): "&quot;"}


@dataclass(frozen=True)
class Style:
    """A cell's look. Colours are RGB hex (``"D9D9D9"``)."""

    bold: bool = False
    italic: bool = False
    color: str | None = None
    fill: str | None = None
    wrap: bool = False
    number_format: str | None = None


@dataclass(frozen=True)
class Styled:
    """A value written with a :class:`Style`."""

    value: Any
    style: Style


@dataclass(frozen=True)
class ValueFills:
    """Conditional formatting: cells of ``column`` (1-based) in rows ``first_row`` to
    ``last_row`` whose text equals a key of ``fills`` get that fill colour."""

    column: int
    first_row: int
    last_row: int
    fills: Mapping[str, str]


_DEFAULT: Final = Style()
_DATE: Final = Style(number_format=_DATE_FORMAT)
_DATETIME: Final = Style(number_format=_DATETIME_FORMAT)


def column_letter(index: int) -> str:
    """``1`` -> ``A``, ``28`` -> ``AB``."""
    if not 1 <= index <= MAX_COLUMNS:
        raise ValueError(f"column {index} is outside 1..{MAX_COLUMNS}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def escape_text(value: str) -> str:
    """``value`` as XML character data an xlsx file can hold, read back by Excel as it is."""
    if "_x" in value:
        value = _EXCEL_ESCAPE.sub(r"_x005F_\1", value)
    return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def _attribute(value: str) -> str:
    return value.translate(_ATTRIBUTE_ESCAPES)


def _formula_text(value: str) -> str:
    """``value`` as a string literal of a formula (quotes doubled), escaped for XML."""
    quote = '"'
    return escape_text(quote + value.replace(quote, quote * 2) + quote)


def _text_cell(reference: str, text: str, style: str) -> str:
    escaped = escape_text(text)
    space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace()) else ""
    return f'<c r="{reference}"{style} t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


class _Styles:
    """The style sheet: fonts, fills, number formats and cell formats numbered as used."""

    def __init__(self) -> None:
        self._cells: dict[Style, int] = {_DEFAULT: 0}
        self._fonts: dict[tuple[bool, bool, str | None], int] = {(False, False, None): 0}
        self._fills: dict[str, int] = {}  # ids 0 and 1 are the two fills Excel reserves
        self._formats: dict[str, int] = {}
        self._differential: dict[str, int] = {}

    def cell(self, style: Style) -> int:
        found = self._cells.get(style)
        if found is None:
            found = self._cells[style] = len(self._cells)
            self._fonts.setdefault((style.bold, style.italic, style.color), len(self._fonts))
            if style.fill is not None:
                self._fills.setdefault(style.fill, len(self._fills) + 2)
            if style.number_format is not None:
                self._formats.setdefault(style.number_format, len(self._formats) + 164)
        return found

    def differential(self, fill: str) -> int:
        return self._differential.setdefault(fill, len(self._differential))

    def xml(self) -> str:
        formats = "".join(
            f'<numFmt numFmtId="{number}" formatCode="{_attribute(code)}"/>'
            for code, number in self._formats.items()
        )
        fonts = "".join(_font(*key) for key in self._fonts)
        fills = '<fill><patternFill patternType="none"/></fill>'
        fills += '<fill><patternFill patternType="gray125"/></fill>'
        fills += "".join(_solid(rgb) for rgb in self._fills)
        cells = "".join(self._xf(style) for style in self._cells)
        differential = "".join(f"<dxf>{_solid(rgb, True)}</dxf>" for rgb in self._differential)
        return (
            f'<styleSheet xmlns="{_MAIN_NS}">'
            f'<numFmts count="{len(self._formats)}">{formats}</numFmts>'
            f'<fonts count="{len(self._fonts)}">{fonts}</fonts>'
            f'<fills count="{len(self._fills) + 2}">{fills}</fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(self._cells)}">{cells}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            f'<dxfs count="{len(self._differential)}">{differential}</dxfs>'
            "</styleSheet>"
        )

    def _xf(self, style: Style) -> str:
        font = self._fonts[(style.bold, style.italic, style.color)]
        fill = self._fills.get(style.fill, 0) if style.fill is not None else 0
        number = self._formats[style.number_format] if style.number_format is not None else 0
        applied = (
            (' applyFont="1"' if font else "")
            + (' applyFill="1"' if fill else "")
            + (' applyNumberFormat="1"' if number else "")
        )
        attributes = f'numFmtId="{number}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"'
        if style.wrap:
            wrap = '<alignment vertical="top" wrapText="1"/>'
            return f'<xf {attributes}{applied} applyAlignment="1">{wrap}</xf>'
        return f"<xf {attributes}{applied}/>"


def _font(bold: bool, italic: bool, color: str | None) -> str:
    parts = ("<b/>" if bold else "") + ("<i/>" if italic else "")
    parts += f'<color rgb="FF{color}"/>' if color is not None else ""
    return f'<font>{parts}<sz val="11"/><name val="Calibri"/><family val="2"/></font>'


def _solid(rgb: str, background: bool = False) -> str:
    back = f'<bgColor rgb="FF{rgb}"/>' if background else ""
    solid = f'<patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>{back}</patternFill>'
    return f"<fill>{solid}</fill>"


class Sheet:
    """One worksheet being written; get it from :meth:`XlsxWriter.add_sheet`."""

    def __init__(
        self, entry: IO[bytes], styles: _Styles, widths: Sequence[float], fills: ValueFills | None
    ) -> None:
        self._entry = entry
        self._styles = styles
        self._fills = fills
        self._rows = 0
        self._letters: list[str] = []
        self._pending: list[str] = []
        self._date = f' s="{styles.cell(_DATE)}"'
        self._datetime = f' s="{styles.cell(_DATETIME)}"'
        columns = "".join(
            f'<col min="{i}" max="{i}" width="{width:g}" customWidth="1"/>'
            for i, width in enumerate(widths, start=1)
        )
        self._write(
            f'{_DECLARATION}<worksheet xmlns="{_MAIN_NS}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            "</sheetView></sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{columns}</cols>" if columns else "")
            + "<sheetData>"
        )

    @property
    def rows(self) -> int:
        """Rows appended so far."""
        return self._rows

    def append(self, values: Sequence[Any]) -> None:
        """Write the next row: plain values, or :class:`Styled` ones."""
        if self._rows >= MAX_ROWS:
            raise ValueError(f"a worksheet holds at most {MAX_ROWS:,} rows")
        if len(values) > MAX_COLUMNS:
            raise ValueError(f"a worksheet holds at most {MAX_COLUMNS:,} columns")
        self._rows += 1
        number = self._rows
        letters = self._letters
        while len(letters) < len(values):
            letters.append(column_letter(len(letters) + 1))
        cells = []
        for index, value in enumerate(values):
            if value is None or value == "":
                continue
            reference = f"{letters[index]}{number}"
            cells.append(self._cell(reference, value, ""))
        self._pending.append(f'<row r="{number}">{"".join(cells)}</row>')
        if len(self._pending) >= _BUFFERED_ROWS:
            self._flush()

    def append_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.append(row)

    def _cell(self, reference: str, value: Any, style: str) -> str:
        kind = type(value)
        if kind is str:
            return _text_cell(reference, value, style)
        if kind is int or kind is float:
            if kind is float and not math.isfinite(value):
                return _text_cell(reference, str(value), style)
            return f'<c r="{reference}"{style}><v>{value!r}</v></c>'
        if kind is bool:
            return f'<c r="{reference}"{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, Styled):
            if value.value is None or value.value == "":
                return f'<c r="{reference}" s="{self._styles.cell(value.style)}"/>'
            return self._cell(reference, value.value, f' s="{self._styles.cell(value.style)}"')
        if isinstance(value, datetime):
            if value.tzinfo is not None or value.date() < _FIRST_TRUE_DATE:
                return _text_cell(reference, value.isoformat(), style)
            serial = (value - _EXCEL_EPOCH) / _DAY
            return f'<c r="{reference}"{style or self._datetime}><v>{serial!r}</v></c>'
        if isinstance(value, date):
            if value < _FIRST_TRUE_DATE:
                return _text_cell(reference, value.isoformat(), style)
            serial = (value - _EXCEL_EPOCH.date()).days
            return f'<c r="{reference}"{style or self._date}><v>{serial}</v></c>'
        if isinstance(value, bool | int | float | str):  # subclasses (IntEnum, numpy scalars...)
            return self._cell(reference, _plain(value), style)
        return _text_cell(reference, str(value), style)

    def finish(self) -> None:
        self._flush()
        tail = "</sheetData>"
        if self._fills is not None and self._fills.fills:
            tail += self._conditional(self._fills)
        tail += _PAGE_MARGINS
        self._write(tail + "</worksheet>")
        self._entry.close()

    def _conditional(self, fills: ValueFills) -> str:
        letter = column_letter(fills.column)
        area = f"{letter}{fills.first_row}:{letter}{max(fills.first_row, fills.last_row)}"
        rules = "".join(
            f'<cfRule type="cellIs" dxfId="{self._styles.differential(rgb)}" priority="{priority}" '
            f'operator="equal"><formula>{_formula_text(value)}</formula></cfRule>'
            for priority, (value, rgb) in enumerate(fills.fills.items(), start=1)
        )
        return f'<conditionalFormatting sqref="{area}">{rules}</conditionalFormatting>'

    def _flush(self) -> None:
        if self._pending:
            self._write("".join(self._pending))
            self._pending.clear()

    def _write(self, text: str) -> None:
        self._entry.write(text.encode("utf-8"))


def _plain(value: bool | int | float | str) -> bool | int | float | str:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    raise TypeError(type(value).__name__)


class Writable(Protocol):
    """Where a workbook goes: a write-only stream, seekable or not."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class XlsxWriter:
    """Write a workbook into ``stream`` (write-only; need not be seekable): :meth:`add_sheet`
    for each sheet in order, rows with :meth:`Sheet.append`, then :meth:`close` (or
    :meth:`abandon` after a failure)."""

    def __init__(self, stream: Writable, *, creator: str = "") -> None:
        self._zip = zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED)
        self._styles = _Styles()
        self._titles: list[str] = []
        self._sheet: Sheet | None = None
        self._creator = creator

    def add_sheet(
        self, title: str, widths: Sequence[float] = (), fills: ValueFills | None = None
    ) -> Sheet:
        """Finish the current sheet, if any, and start the next one."""
        if (
            not 1 <= len(title) <= 31
            or any(c in title for c in "[]:*?/\\")
            or title.startswith("'")
            or title.endswith("'")
        ):
            raise ValueError(f"{title!r} cannot be a sheet name")
        if title.casefold() in (t.casefold() for t in self._titles):
            raise ValueError(f"the workbook already has a sheet named {title!r}")
        self._finish_sheet()
        self._titles.append(title)
        entry = self._zip.open(self._info(f"xl/worksheets/sheet{len(self._titles)}.xml"), "w")
        self._sheet = Sheet(entry, self._styles, widths, fills)
        return self._sheet

    def close(self) -> None:
        """Finish the last sheet and write the workbook's other parts."""
        if not self._titles:
            raise ValueError("a workbook needs at least one sheet")
        self._finish_sheet()
        count = len(self._titles)
        sheets = "".join(
            f'<sheet name="{_attribute(title)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, title in enumerate(self._titles, start=1)
        )
        relations = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, count + 1)
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            f'ContentType="{_TYPE_PREFIX}.worksheet+xml"/>'
            for i in range(1, count + 1)
        )
        parts = {
            "[Content_Types].xml": (
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" '
                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                f'ContentType="{_TYPE_PREFIX}.sheet.main+xml"/>'
                f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE_PREFIX}.styles+xml"/>'
                '<Override PartName="/docProps/core.xml" '
                'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                f"{overrides}</Types>"
            ),
            "_rels/.rels": (
                f'<Relationships xmlns="{_PACKAGE_REL_NS}">'
                f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" '
                'Target="xl/workbook.xml"/>'
                '<Relationship Id="rId2" '
                f'Type="{_PACKAGE_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
                "</Relationships>"
            ),
            "docProps/core.xml": (
                '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
                'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<dc:creator>{escape_text(self._creator)}</dc:creator></cp:coreProperties>"
            ),
            "xl/workbook.xml": (
                f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
                '<bookViews><workbookView activeTab="0"/></bookViews>'
                f"<sheets>{sheets}</sheets></workbook>"
            ),
            "xl/_rels/workbook.xml.rels": (
                f'<Relationships xmlns="{_PACKAGE_REL_NS}">{relations}'
                f'<Relationship Id="rId{count + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
                "</Relationships>"
            ),
            "xl/styles.xml": self._styles.xml(),
        }
        for name, text in parts.items():
            self._zip.writestr(
                self._info(name),
                _DECLARATION + text,
            )
        self._zip.close()

    def abandon(self) -> None:
        """After a failed write: drop the zip without writing anything more."""
        self._sheet = None
        self._zip.fp = None  # ZipFile.close() (or its __del__) then writes nothing

    def _finish_sheet(self) -> None:
        if self._sheet is not None:
            self._sheet.finish()
            self._sheet = None

    @staticmethod
    def _info(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info
