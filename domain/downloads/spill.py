"""Row-level issues spilled to a temporary Arrow IPC file while the cleaned data streams by.

The cleaning pass produces row issues chunk by chunk; holding them all would grow with the
input. :class:`RowIssueSpill` appends them to an IPC file in the caller's scratch directory,
keeps only a bounded preview and the counts per code, and reads the file back batch by batch
(plain reads, not a memory map, so the pages do not count towards resident memory).

``keep_rows`` bounds the file: the pipeline writes the row trail while the data is cleaned
and reads the spill back only for the workbook's Row issues sheet, which shows the first
``ROW_ISSUES_SHEET_MAX_ROWS``, so it keeps only those. The counts and the preview always cover
every row issue appended.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc

from domain.model import ROW_ISSUE_SCHEMA
from domain.report import ROW_LEVEL_ISSUES_IN_OBJECT, RowIssueDigest

WRITE_BATCH_ROWS: Final = 65_536


class RowIssueSpill:
    def __init__(
        self,
        path: Path,
        *,
        preview_rows: int = ROW_LEVEL_ISSUES_IN_OBJECT,
        keep_rows: int | None = None,
    ) -> None:
        self._path = path
        self._preview_rows = preview_rows
        self._keep_rows = keep_rows  # rows written to the file; None: all
        self._kept = 0
        self._preview: list[dict[str, Any]] = []
        self._by_code: dict[str, int] = {}
        self._total = 0
        self._sink = pa.OSFile(str(path), "wb")
        self._writer: ipc.RecordBatchFileWriter | None = ipc.new_file(self._sink, ROW_ISSUE_SCHEMA)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def total(self) -> int:
        return self._total

    @property
    def kept(self) -> int:
        """Row issues in the file (``total`` unless ``keep_rows`` cut it)."""
        return self._kept

    def append(self, issues: pa.Table) -> pa.Table:
        """Add one chunk's row issues; returns them as stored (columns and types of
        :data:`ROW_ISSUE_SCHEMA`), for the caller to pass on."""
        if self._writer is None:
            raise RuntimeError("row issue spill already finished")
        if issues.num_rows == 0:
            return issues
        issues = issues.select(ROW_ISSUE_SCHEMA.names).cast(ROW_ISSUE_SCHEMA)
        self._total += issues.num_rows
        self._count_codes(issues)
        missing = self._preview_rows - len(self._preview)
        if missing > 0:
            self._preview.extend(issues.slice(0, missing).to_pylist())
        keep = issues.num_rows
        if self._keep_rows is not None:
            keep = min(keep, max(0, self._keep_rows - self._kept))
        if keep:
            for batch in issues.slice(0, keep).to_batches(max_chunksize=WRITE_BATCH_ROWS):
                self._writer.write_batch(batch)
            self._kept += keep
        return issues

    def _count_codes(self, issues: pa.Table) -> None:
        counts = pc.value_counts(issues.column("code"))
        for item in counts.to_pylist():
            code = str(item["values"])
            self._by_code[code] = self._by_code.get(code, 0) + int(item["counts"])

    def finish(self) -> RowIssueDigest:
        """Close the file and return the digest for the final object."""
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None
        return RowIssueDigest(
            total=self._total, by_code=dict(self._by_code), preview=tuple(self._preview)
        )

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        """The row issues in the file (every one, or the first ``keep_rows``), in arrival
        order, batch by batch (after :meth:`finish`)."""
        if self._writer is not None:
            raise RuntimeError("finish the row issue spill before reading it")
        with pa.OSFile(str(self._path), "rb") as source:
            reader = ipc.open_file(source)
            for index in range(reader.num_record_batches):
                yield reader.get_batch(index)

    def close(self) -> None:
        """Close the file (the caller removes the scratch directory)."""
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def __enter__(self) -> RowIssueSpill:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
