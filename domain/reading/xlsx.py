"""XLSX input through openpyxl's read-only mode (first worksheet, cell values not formulas).

openpyxl hands out Python values cell by cell, so this path is slower than CSV; workbooks are
bounded by Excel's own limit of 1,048,576 rows.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from domain.errors import InputError
from domain.reading.chunks import RawChunk, SourceSpec
from domain.reading.sniffing import check_zip_is_xlsx

_ROWS_PER_CHUNK_MIN = 1_000


def _open_sheet(path: Path, name: str) -> tuple[Any, Any]:
    import openpyxl

    check_zip_is_xlsx(path, name)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on junk input
        raise InputError(
            f"{name}: not a readable Excel workbook ({exc.__class__.__name__})"
        ) from None
    if not workbook.worksheets:
        workbook.close()
        raise InputError(f"{name}: the workbook has no worksheet")
    return workbook, workbook.worksheets[0]


def cell_text(value: Any) -> str:
    """The text a cell value is read as."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def sniff_xlsx(path: Path, name: str, size: int) -> SourceSpec:
    workbook, sheet = _open_sheet(path, name)
    try:
        try:
            first = next(sheet.iter_rows(values_only=True), None)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
            raise InputError(
                f"{name}: not a readable Excel workbook ({exc.__class__.__name__})"
            ) from None
        if first is None or not any(cell_text(v).strip() for v in first):
            raise InputError(f"{name}: no header, the first worksheet row is blank")
        header = [cell_text(v) for v in first]
        while header and not header[-1].strip():
            header.pop()
        return SourceSpec(
            path=path,
            file_name=name,
            size_bytes=size,
            input_format="xlsx",
            encoding="xlsx",
            delimiter=None,
            header=tuple(header),
            sheet=str(sheet.title),
        )
    finally:
        workbook.close()


def read_xlsx_chunks(spec: SourceSpec, block_size: int) -> Iterator[RawChunk]:
    width = spec.column_count
    per_chunk = max(_ROWS_PER_CHUNK_MIN, block_size // max(1, 16 * width))
    workbook, sheet = _open_sheet(spec.path, spec.file_name)
    try:
        columns: list[list[str]] = [[] for _ in range(width)]
        rows: list[int] = []
        names = [f"c{i}" for i in range(width)]
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number == 1:
                    continue
                texts = [cell_text(v) for v in values[:width]]
                texts.extend([""] * (width - len(texts)))
                for column, text in zip(columns, texts, strict=True):
                    column.append(text)
                rows.append(number)
                if len(rows) >= per_chunk:
                    yield _chunk(columns, rows, names, 0)  # openpyxl exposes no byte position
                    columns = [[] for _ in range(width)]
                    rows = []
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
            raise InputError(
                f"{spec.file_name}: the workbook is damaged ({exc.__class__.__name__})"
            ) from None
        if rows:
            yield _chunk(columns, rows, names, spec.size_bytes)
    finally:
        workbook.close()


def _chunk(columns: list[list[str]], rows: list[int], names: list[str], done: int) -> RawChunk:
    table = pa.table([pa.array(c, pa.string()) for c in columns], names=names)
    return RawChunk(table=table, rows=np.array(rows, dtype=np.int64), ragged=(), bytes_done=done)
