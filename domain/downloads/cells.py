"""Cell-level safety for spreadsheet consumers, vectorised over Arrow string arrays.

Values are never changed to make them safe: the cleaned CSV holds the cleaned data exactly
(neutralising formula-like cells is an engine option whose every change is in the trail), and
the workbook writes every string as a text cell, never a formula (see
:mod:`domain.downloads.xlsx_writer`). What an xlsx file cannot hold at all (C0 control
characters, U+FFFE and U+FFFF, cells longer than Excel's limit) is replaced or cut.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

# Characters XML 1.0 (and so xlsx) cannot hold: C0 controls other than tab, newline and
# carriage return, and the two non-characters U+FFFE and U+FFFF.
XML_ILLEGAL_CHARACTERS: Final = (
    "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\ufffe\uffff"
)
XML_ILLEGAL_PATTERN: Final = (
    "[" + "".join(f"\\x{{{ord(c):X}}}" for c in XML_ILLEGAL_CHARACTERS) + "]"
)
_REPLACE_ILLEGAL: Final = {ord(c): "\ufffd" for c in XML_ILLEGAL_CHARACTERS}


def _is_string(values: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pa.types.is_string(values.type) or pa.types.is_large_string(values.type))


def strip_xml_illegal(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Replace characters an xlsx file cannot store with U+FFFD (XML parsers refuse them)."""
    if not _is_string(values):
        return values
    return pc.replace_substring_regex(values, XML_ILLEGAL_PATTERN, "\ufffd")


# Excel's limit on the characters in one cell.
XLSX_MAX_CELL_CHARS: Final = 32_767


def prepare_for_xlsx(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Storable in a worksheet cell: illegal characters replaced, cut to Excel's cell limit."""
    if not _is_string(values):
        return values
    cleaned = strip_xml_illegal(values)
    return pc.utf8_slice_codeunits(cleaned, 0, XLSX_MAX_CELL_CHARS)


def prepare_text_for_xlsx(value: str) -> str:
    """:func:`prepare_for_xlsx` for one Python string (small sheets: summary, findings)."""
    return value.translate(_REPLACE_ILLEGAL)[:XLSX_MAX_CELL_CHARS]
