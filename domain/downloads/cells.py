"""Cell-level safety for spreadsheet consumers, vectorised over Arrow string arrays.

Formula injection: a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return, which some spreadsheet programs skip before such a character) is run as a formula when
the file is opened in a spreadsheet. Such cells get a leading apostrophe, unless they are plain
numbers such as ``-12.5`` or ``+3e5``, which stay as they are (OWASP "CSV injection").
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_PREFIX_PATTERN: Final = r"^[=+\-@\t\r]"
PLAIN_NUMBER_PATTERN: Final = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
# Characters XML 1.0 (and so xlsx) cannot hold: C0 controls other than tab, newline, return.
XML_ILLEGAL_PATTERN: Final = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def neutralise_formulas(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Prefix ``'`` to string cells a spreadsheet would run as a formula; nulls stay null."""
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return values
    risky = pc.and_kleene(
        pc.match_substring_regex(values, FORMULA_PREFIX_PATTERN),
        pc.invert(pc.match_substring_regex(values, PLAIN_NUMBER_PATTERN)),
    )
    if not pc.any(risky).as_py():
        return values
    quoted = pc.binary_join_element_wise("'", values, "")
    return pc.if_else(pc.fill_null(risky, False), quoted, values)


def neutralise_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """:func:`neutralise_formulas` applied to every column of ``batch``."""
    columns = [neutralise_formulas(column) for column in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def strip_xml_illegal(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Replace characters an xlsx file cannot store with U+FFFD (openpyxl refuses them)."""
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return values
    return pc.replace_substring_regex(values, XML_ILLEGAL_PATTERN, "\ufffd")


# Excel's limit on the characters in one cell.
XLSX_MAX_CELL_CHARS: Final = 32_767


def prepare_for_xlsx(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Storable in a worksheet cell: illegal characters replaced, cut to Excel's cell limit,
    formulas neutralised."""
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return values
    cleaned = strip_xml_illegal(values)
    cleaned = pc.utf8_slice_codeunits(cleaned, 0, XLSX_MAX_CELL_CHARS)
    return neutralise_formulas(cleaned)


def prepare_text_for_xlsx(value: str) -> str:
    """:func:`prepare_for_xlsx` for one Python string (small sheets: summary, findings)."""
    prepared = prepare_for_xlsx(pa.array([value], pa.string()))
    return str(prepared[0].as_py())
