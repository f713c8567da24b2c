"""The cell-level row trail: every row-level issue, as a Parquet download, written while the
data is cleaned.

One Parquet row per row-level issue (a changed or flagged cell, or a whole-row issue), in the
order the engine found them, with the columns and types of ``ROW_ISSUE_SCHEMA``::

    row        int64   not null  1-based record number in the input (header = row 1)
    column     string            cleaned column name; null for whole-row issues
    code       string  not null  e.g. "whitespace", "null_sentinel", "blank_row"
    severity   string  not null
    old_value  string            the cell before cleaning
    new_value  string            the cell after cleaning (null: emptied or flagged only)
    action     string  not null  the cleaning action that changed or flagged it

Zstandard-compressed; the text columns are dictionary-encoded and ``row`` is delta-encoded, so
runs of identical issues (blank-line floods) cost a few bits each. Row groups hold up to
:data:`ROW_GROUP_ROWS` rows.

:class:`StreamedTrail` writes the file on a thread fed through a bounded hand-over (the
pipeline passes each chunk's row issues as they are cleaned), and folds the same issues into
the JSON report's :class:`~domain.downloads.trail.CompactTrail`, so both overlap the engine.
"""

from __future__ import annotations

import threading
from collections import deque
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Final

import pyarrow as pa
import pyarrow.parquet as pq

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.trail import CompactTrail
from domain.model import ROW_ISSUE_SCHEMA

# Rows of issues buffered per row group: the buffer and the encoder follow this size (262,144
# rows held ~30 MB more at peak for a file 1.8 % smaller; a third smaller on a blank-line flood).
ROW_GROUP_ROWS: Final = 65_536
# Chunks of row issues (one per engine chunk) waiting for the writer thread.
STREAM_CAPACITY: Final = 1
_TEXT_COLUMNS: Final = ("column", "code", "severity", "old_value", "new_value", "action")


class _Output:
    """What pyarrow needs of a Python output stream, over the sink's stream (which only has to
    ``write``): the position, and a ``close`` that leaves the sink's stream open."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._position = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        written = self._stream.write(data)
        self._position += memoryview(data).nbytes
        return written

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def open_trail_writer(stream: BinaryIO) -> pq.ParquetWriter:
    """A Parquet writer of the trail's schema and encodings into ``stream`` (left open by the
    writer's ``close``)."""
    return pq.ParquetWriter(
        pa.PythonFile(_Output(stream), mode="w"),
        ROW_ISSUE_SCHEMA,
        compression="zstd",
        use_dictionary=list(_TEXT_COLUMNS),
        column_encoding={"row": "DELTA_BINARY_PACKED"},
    )


class _RowGroups:
    """Buffers row issues into row groups of :data:`ROW_GROUP_ROWS` and writes them."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self._writer = writer
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.written = 0

    def add(self, issues: pa.Table) -> None:
        self._pending.append(issues.select(ROW_ISSUE_SCHEMA.names).cast(ROW_ISSUE_SCHEMA))
        self._pending_rows += issues.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._pending_rows:
            return
        table = pa.concat_tables(self._pending)
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.written += table.num_rows
        self._pending = []
        self._pending_rows = 0


def write_row_trail(
    spec: ArtifactSpec, issues: pa.Table, sink: ArtifactSink, *, budget_bytes: int
) -> tuple[WrittenArtifact, CompactTrail]:
    """Write the trail of ``issues`` in one go (the pipeline streams it: :class:`StreamedTrail`)."""
    compact = CompactTrail(budget_bytes)

    def write(stream: BinaryIO) -> None:
        writer = open_trail_writer(stream)
        groups = _RowGroups(writer)
        if issues.num_rows:
            groups.add(issues)
            compact.add(issues)
        groups.flush()
        writer.close()

    return sink.write_artifact(spec, write), compact


@dataclass(frozen=True)
class _End:
    row_issue_total: int


class TrailAbortedError(Exception):
    """The run stopped before the trail was complete (raised in the writer thread only, so the
    sink removes the partial artifact)."""


class StreamedTrail:
    """The Parquet trail (and the compact trail) written by a thread while the data is cleaned.

    ``add`` hands over one chunk's row issues (waiting while :data:`STREAM_CAPACITY` chunks are
    already waiting, so memory stays bounded); ``finish`` waits for the thread to complete the
    artifact and returns it with the compact trail. An error in the thread (disk full, ...) is
    raised again, as it is, by the next ``add`` or by ``finish``; the sink has removed what it
    had written. ``abort`` (also on leaving a ``with`` block early) stops the thread and waits
    for it, so the sink removes the partial artifact and nothing runs on.
    """

    def __init__(
        self,
        spec: ArtifactSpec,
        sink: ArtifactSink,
        *,
        budget_bytes: int,
        capacity: int = STREAM_CAPACITY,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._spec = spec
        self._sink = sink
        self._capacity = capacity
        self._compact = CompactTrail(budget_bytes)
        self._changed = threading.Condition()
        self._pending: deque[pa.Table | _End] = deque()
        self._closed = False  # the end was handed over, or the run aborted
        self._aborted = False
        self._error: BaseException | None = None
        self._written: WrittenArtifact | None = None
        self._thread = threading.Thread(target=self._run, name=f"row-trail-{spec.download_id[:8]}")

    # --- the caller's side ---

    def start(self) -> None:
        self._thread.start()

    def add(self, issues: pa.Table) -> None:
        """Hand over one chunk's row issues (schema ``ROW_ISSUE_SCHEMA``)."""
        if issues.num_rows:
            self._hand_over(issues)

    def finish(self, *, row_issue_total: int) -> tuple[WrittenArtifact, CompactTrail]:
        """Wait for the thread to complete the artifact; return it and the compact trail.
        ``row_issue_total`` is how many row issues were counted (the thread checks that it
        wrote as many)."""
        self._hand_over(_End(row_issue_total))
        with self._changed:
            self._closed = True
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._written is None:  # pragma: no cover - the thread always sets one of the two
            raise RuntimeError("the row trail writer ended without a result")
        return self._written, self._compact

    def abort(self) -> None:
        """Stop the thread (if still writing) and wait for it; the partial artifact is removed
        by the sink. Harmless after ``finish``."""
        with self._changed:
            self._aborted = True
            self._closed = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _hand_over(self, item: pa.Table | _End) -> None:
        with self._changed:
            while True:
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise RuntimeError("the row trail is already finished or aborted")
                if len(self._pending) < self._capacity:
                    break
                self._changed.wait()
            self._pending.append(item)
            self._changed.notify_all()

    def __enter__(self) -> StreamedTrail:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.abort()

    # --- the writer thread's side ---

    def _next(self) -> pa.Table | _End:
        with self._changed:
            while not self._pending and not self._aborted:
                self._changed.wait()
            if self._aborted:
                raise TrailAbortedError("the run stopped before the row trail was complete")
            item = self._pending.popleft()
            self._changed.notify_all()
            return item

    def _write(self, stream: BinaryIO) -> None:
        writer = open_trail_writer(stream)
        groups = _RowGroups(writer)
        try:
            while True:
                item = self._next()
                if isinstance(item, _End):
                    groups.flush()
                    if groups.written != item.row_issue_total:
                        raise ValueError(
                            f"row-level issues: counted {item.row_issue_total}, "
                            f"wrote {groups.written}"
                        )
                    break
                groups.add(item)
                self._compact.add(item)
        except BaseException:
            with suppress(Exception):  # the first error is the one to report
                writer.close()
            raise
        writer.close()

    def _run(self) -> None:
        try:
            written = self._sink.write_artifact(self._spec, self._write)
        except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
            with self._changed:
                self._error = exc
                self._changed.notify_all()
        else:
            with self._changed:
                self._written = written
                self._changed.notify_all()
