"""Cell-level safety for spreadsheet consumers, vectorised over Arrow string arrays.

Formula injection: a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return, which some spreadsheet programs skip before such a character) is run as a formula when
the file is opened in a spreadsheet. Such cells get a leading apostrophe, unless they are plain
numbers such as ``-12.5`` or ``+3e5``, which stay as they are (OWASP "CSV injection").
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PLAIN_NUMBER_PATTERN: Final = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
# Characters XML 1.0 (and so xlsx) cannot hold: C0 controls other than tab, newline, return.
XML_ILLEGAL_PATTERN: Final = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


_TRIGGER_BYTES: Final = np.frombuffer(b"=+-@\t\r", dtype=np.uint8)


def _is_string(values: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pa.types.is_string(values.type) or pa.types.is_large_string(values.type))


def _formula_candidates(values: pa.Array) -> np.ndarray:
    """Cells whose first byte is a trigger character, read straight from the Arrow buffers
    (a numpy gather: far cheaper than a regex over every cell)."""
    _, offsets_buffer, data_buffer = values.buffers()
    count = len(values)
    if data_buffer is None or data_buffer.size == 0 or count == 0:
        return np.zeros(count, dtype=bool)
    width = 8 if pa.types.is_large_string(values.type) else 4
    offsets = np.frombuffer(
        offsets_buffer,
        dtype=np.int64 if width == 8 else np.int32,
        count=count + 1,
        offset=values.offset * width,
    ).astype(np.int64, copy=False)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1]
    first = data[np.minimum(starts, data.size - 1)]
    candidates: np.ndarray = (offsets[1:] > starts) & np.isin(first, _TRIGGER_BYTES)
    if values.null_count:
        candidates &= np.asarray(values.is_valid())
    return candidates


def _neutralise_array(values: pa.Array) -> pa.Array:
    candidates = _formula_candidates(values)
    if not candidates.any():
        return values
    subset = values.take(pa.array(np.flatnonzero(candidates)))
    plain_number = pc.match_substring_regex(subset, PLAIN_NUMBER_PATTERN)
    quote, empty = pa.scalar("'", values.type), pa.scalar("", values.type)
    fixed = pc.if_else(plain_number, subset, pc.binary_join_element_wise(quote, subset, empty))
    return pc.replace_with_mask(values, pa.array(candidates), fixed)


def neutralise_formulas(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Prefix ``'`` to string cells a spreadsheet would run as a formula; nulls stay null."""
    if not _is_string(values):
        return values
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array(
            [_neutralise_array(chunk) for chunk in values.chunks], type=values.type
        )
    return _neutralise_array(values)


def neutralise_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """:func:`neutralise_formulas` applied to every column of ``batch``."""
    columns = [neutralise_formulas(column) for column in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def strip_xml_illegal(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Replace characters an xlsx file cannot store with U+FFFD (openpyxl refuses them)."""
    if not _is_string(values):
        return values
    return pc.replace_substring_regex(values, XML_ILLEGAL_PATTERN, "\ufffd")


# Excel's limit on the characters in one cell.
XLSX_MAX_CELL_CHARS: Final = 32_767


def prepare_for_xlsx(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Storable in a worksheet cell: illegal characters replaced, cut to Excel's cell limit,
    formulas neutralised."""
    if not _is_string(values):
        return values
    cleaned = strip_xml_illegal(values)
    cleaned = pc.utf8_slice_codeunits(cleaned, 0, XLSX_MAX_CELL_CHARS)
    return neutralise_formulas(cleaned)


def prepare_text_for_xlsx(value: str) -> str:
    """:func:`prepare_for_xlsx` for one Python string (small sheets: summary, findings)."""
    prepared = prepare_for_xlsx(pa.array([value], pa.string()))
    return str(prepared[0].as_py())
