"""The JSON report download: the final object with EVERY row-level issue, streamed.

The document starts with the list that grows with the input, so its prefix is constant and the
list can be written while the data is still being cleaned::

    {"report":{"rowLevelIssues":[{...},{...}],"rowLevelIssuesTruncated":false,<rest of report>},
     <rest of the final object>}

(JSON objects are unordered: the parsed document is the final object with the full list, as
before; only the key order differs from the printed object.) The row-level issues are
serialised per batch by polars' native JSON writer (a row-oriented array, written without its
brackets); the rest of the object (summary, the CSV and xlsx download entries) is known only
at the end and is written last as the small trailer. Neither the list nor the document is ever
built whole in memory. UTF-8, compact separators.

:class:`StreamedJsonReport` writes the document on a writer thread fed through a bounded
hand-over (the pipeline passes each chunk's row issues as they are cleaned, then the trailer),
so serialising, hashing and writing overlap the engine; polars' writer, hashlib and file writes
release the GIL on large buffers. :func:`write_json_report` writes the same document in one go
from :class:`ReportContent`.
"""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, Final

import polars as pl
import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.content import ReportContent
from domain.downloads.entries import choose_sink, describe_download, report_json_spec

DOCUMENT_PREFIX: Final = b'{"report":{"rowLevelIssues":['
# Rows serialised at a time: bounds polars' text buffer (~2 MB of JSON; 65,536 rows, ~9 MB,
# peaked 10-15 MB higher on 1 GB at the same speed).
SERIALISE_BATCH_ROWS: Final = 16_384
# Chunks of row issues (one per engine chunk, ~40,000 rows) waiting for the writer thread.
STREAM_CAPACITY: Final = 1

_STREAMED_REPORT_KEYS: Final = frozenset({"rowLevelIssues", "rowLevelIssuesTruncated"})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _members(mapping: Mapping[str, Any], skip: frozenset[str]) -> bytes:
    """``,"key":value`` for each member not in ``skip`` (in order), as UTF-8."""
    text = "".join(
        f",{_dumps(str(key))}:{_dumps(value)}" for key, value in mapping.items() if key not in skip
    )
    return text.encode("utf-8")


def render_trailer(final_object: Mapping[str, Any]) -> bytes:
    """What follows the last row-level issue: the array's end, the rest of ``report`` (its
    bounded ``rowLevelIssues`` replaced by the full list, so never truncated) and the rest of
    the final object."""
    report = final_object["report"]
    return b"".join(
        (
            b'],"rowLevelIssuesTruncated":false',
            _members(report, _STREAMED_REPORT_KEYS),
            b"}",
            _members(final_object, frozenset({"report"})),
            b"}",
        )
    )


def _serialise_batch(batch: pa.RecordBatch) -> memoryview:
    """One batch of row issues as comma-separated JSON objects (the array without brackets)."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    buffer = io.BytesIO()
    frame.write_json(buffer)  # a row-oriented array: [{...},{...}]
    return buffer.getbuffer()[1:-1]


class _RowIssueItems:
    """Writes row-issue objects into a stream, commas between them; counts them."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.written = 0

    def add(self, issues: pa.Table | pa.RecordBatch) -> None:
        table = issues if isinstance(issues, pa.Table) else pa.Table.from_batches([issues])
        for batch in table.to_batches(max_chunksize=SERIALISE_BATCH_ROWS):
            if batch.num_rows == 0:
                continue
            if self.written:
                self._stream.write(b",")
            self._stream.write(_serialise_batch(batch))
            self.written += batch.num_rows


def write_json_report(
    spec: ArtifactSpec, content: ReportContent, sink: ArtifactSink
) -> WrittenArtifact:
    """Write the full report into one artifact of ``sink``, reading the row issues back from
    ``content`` (the pipeline streams it instead: :class:`StreamedJsonReport`)."""

    def write(stream: BinaryIO) -> None:
        stream.write(DOCUMENT_PREFIX)
        items = _RowIssueItems(stream)
        for batch in content.row_issues():
            items.add(batch)
        if items.written != content.row_issue_total:
            raise ValueError(
                f"row-level issues: spilled {content.row_issue_total}, read back {items.written}"
            )
        stream.write(render_trailer(content.final_object))

    return sink.write_artifact(spec, write)


@dataclass(frozen=True)
class _Trailer:
    final_object: Mapping[str, Any]
    row_issue_total: int


class JsonReportAbortedError(Exception):
    """The run stopped before the JSON report was complete (raised in the writer thread only,
    so the sink removes the partial artifact)."""


class StreamedJsonReport:
    """The JSON report written by a thread while the data is cleaned.

    ``add`` hands over one chunk's row issues (waiting while :data:`STREAM_CAPACITY` chunks are
    already waiting, so memory stays bounded), ``finish`` the final object: the thread writes
    the trailer, the sink completes the artifact and ``finish`` returns it. An error in the
    thread (disk full, ...) is raised again, as it is, by the next ``add`` or by ``finish``; the
    sink has removed what it had written. ``abort`` (also on leaving a ``with`` block early)
    stops the thread and waits for it, so the sink removes the partial artifact and nothing
    runs on.
    """

    def __init__(
        self, spec: ArtifactSpec, sink: ArtifactSink, *, capacity: int = STREAM_CAPACITY
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._spec = spec
        self._sink = sink
        self._capacity = capacity
        self._changed = threading.Condition()
        self._pending: deque[pa.Table | _Trailer] = deque()
        self._closed = False  # the final object was handed over, or the run aborted
        self._aborted = False
        self._error: BaseException | None = None
        self._written: WrittenArtifact | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"json-report-{spec.download_id[:8]}"
        )

    # --- the caller's side ---

    def start(self) -> None:
        self._thread.start()

    def add(self, issues: pa.Table) -> None:
        """Hand over one chunk's row issues (schema ``ROW_ISSUE_SCHEMA``)."""
        if issues.num_rows:
            self._hand_over(issues)

    def finish(self, final_object: Mapping[str, Any], *, row_issue_total: int) -> WrittenArtifact:
        """Hand over the final object (its download entries included), wait for the thread to
        complete the artifact, and return it. ``row_issue_total`` is how many row issues were
        counted (the thread checks that it wrote as many)."""
        self._hand_over(_Trailer(final_object, row_issue_total))
        with self._changed:
            self._closed = True
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._written is None:  # pragma: no cover - the thread always sets one of the two
            raise RuntimeError("the JSON report writer ended without a result")
        return self._written

    def abort(self) -> None:
        """Stop the thread (if still writing) and wait for it; the partial artifact is removed
        by the sink. Harmless after ``finish``."""
        with self._changed:
            self._aborted = True
            self._closed = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _hand_over(self, item: pa.Table | _Trailer) -> None:
        with self._changed:
            while True:
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise RuntimeError("the JSON report is already finished or aborted")
                if len(self._pending) < self._capacity:
                    break
                self._changed.wait()
            self._pending.append(item)
            self._changed.notify_all()

    def __enter__(self) -> StreamedJsonReport:
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

    def _next(self) -> pa.Table | _Trailer:
        with self._changed:
            while not self._pending and not self._aborted:
                self._changed.wait()
            if self._aborted:
                raise JsonReportAbortedError("the run stopped before the JSON report was complete")
            item = self._pending.popleft()
            self._changed.notify_all()
            return item

    def _write(self, stream: BinaryIO) -> None:
        stream.write(DOCUMENT_PREFIX)
        items = _RowIssueItems(stream)
        while True:
            item = self._next()
            if isinstance(item, _Trailer):
                if items.written != item.row_issue_total:
                    raise ValueError(
                        f"row-level issues: counted {item.row_issue_total}, wrote {items.written}"
                    )
                stream.write(render_trailer(item.final_object))
                return
            items.add(item)

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


def generate_json_download(
    analysis_id: str,
    source_name: str,
    content: ReportContent,
    *,
    inline: bool = True,
    sink: ArtifactSink | None = None,
) -> dict[str, Any]:
    """Write the JSON report and return its download entry."""
    spec = report_json_spec(analysis_id, source_name)
    written = write_json_report(spec, content, choose_sink(inline, sink))
    return describe_download(written, inline)
