"""Values produced by the reader: what the file is, and raw chunks of its records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa


@dataclass(frozen=True)
class SourceSpec:
    """Everything needed to (re-)read an input file the same way twice."""

    path: Path
    file_name: str
    size_bytes: int
    input_format: str  # "csv" | "xlsx"
    encoding: str  # python codec name, "xlsx" for workbooks
    delimiter: str | None  # None for xlsx
    header: tuple[str, ...]  # raw header labels, as read
    sheet: str | None = None
    encoding_confidence: float = 1.0  # 0..1, how sure the encoding detection is

    @property
    def column_count(self) -> int:
        return len(self.header)


@dataclass(frozen=True)
class RaggedRow:
    """A record whose cell count differed from the header's; it is padded or truncated."""

    row: int  # record number (see ROW_ISSUE_SCHEMA)
    cells: int  # cells actually found
    text: str  # the record's raw text (a padded one's cut to its first 500 characters)


@dataclass(frozen=True)
class RawChunk:
    """Consecutive data records as strings, one column per header label (named c0, c1, ...)."""

    table: pa.Table  # may hold several record batches (zero-copy slices)
    rows: npt.NDArray[np.int64]  # record number of each batch row
    ragged: tuple[RaggedRow, ...]  # the records of this chunk that were repaired
    bytes_done: int  # input bytes behind the records handed out so far (up to the next record)


def join_chunks(chunks: list[RawChunk]) -> RawChunk:
    """Consecutive chunks as one (their record batches side by side, nothing copied)."""
    if len(chunks) == 1:
        return chunks[0]
    return RawChunk(
        table=pa.concat_tables(chunk.table for chunk in chunks),
        rows=np.concatenate([chunk.rows for chunk in chunks]),
        ragged=tuple(row for chunk in chunks for row in chunk.ragged),
        bytes_done=chunks[-1].bytes_done,
    )


def group_chunks(chunks: Iterable[RawChunk], min_cells: int) -> Iterator[RawChunk]:
    """``chunks`` joined in order until each group holds at least ``min_cells`` cells (rows x
    columns): short records and narrow tables are joined, wide or long chunks stay alone. The
    last group may hold fewer."""
    group: list[RawChunk] = []
    cells = 0
    for chunk in chunks:
        group.append(chunk)
        cells += chunk.table.num_rows * chunk.table.num_columns
        if cells >= min_cells:
            yield join_chunks(group)
            group, cells = [], 0
    if group:
        yield join_chunks(group)
