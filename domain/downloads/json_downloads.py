"""The JSON report download: the final object with EVERY row-level issue, streamed.

The object around the list is small and serialised at once; the row-level issues (which grow
with the input) are read back from the spill batch by batch and serialised per batch by polars'
native JSON writer (a row-oriented array, written without its brackets), so neither the list
nor the document is ever built whole in memory. UTF-8, compact separators.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable
from typing import Any, BinaryIO

import polars as pl
import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.content import ReportContent
from domain.downloads.entries import choose_sink, describe_download, report_json_spec


def _split_around_row_issues(final_object: Any) -> tuple[bytes, bytes]:
    """The serialised object before and after the (full) ``report.rowLevelIssues`` list."""
    marker = f"cmd-row-level-issues-{uuid.uuid4().hex}"
    document = dict(final_object)
    report = dict(document["report"])
    report["rowLevelIssues"] = marker
    report["rowLevelIssuesTruncated"] = False
    document["report"] = report
    text = json.dumps(document, ensure_ascii=False, allow_nan=False)
    before, sep, after = text.partition(json.dumps(marker))
    if not sep or json.dumps(marker) in after:
        raise ValueError("row-level issue marker not found exactly once")
    return before.encode("utf-8"), after.encode("utf-8")


def _serialise_batch(batch: pa.RecordBatch) -> memoryview:
    """One batch of row issues as comma-separated JSON objects (the array without brackets)."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    buffer = io.BytesIO()
    frame.write_json(buffer)  # a row-oriented array: [{...},{...}]
    return buffer.getbuffer()[1:-1]


def write_row_issue_array(stream: BinaryIO, batches: Iterable[pa.RecordBatch]) -> int:
    """Write ``[...]`` of row-issue objects; returns how many were written."""
    stream.write(b"[")
    written = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if written:
            stream.write(b",")
        stream.write(_serialise_batch(batch))
        written += batch.num_rows
    stream.write(b"]")
    return written


def write_json_report(
    spec: ArtifactSpec, content: ReportContent, sink: ArtifactSink
) -> WrittenArtifact:
    """Write the full report into one artifact of ``sink``."""

    def write(stream: BinaryIO) -> None:
        before, after = _split_around_row_issues(content.final_object)
        stream.write(before)
        written = write_row_issue_array(stream, content.row_issues())
        if written != content.row_issue_total:
            raise ValueError(
                f"row-level issues: spilled {content.row_issue_total}, read back {written}"
            )
        stream.write(after)

    return sink.write_artifact(spec, write)


def generate_json_download(
    analysis_id: str,
    source_name: str,
    content: ReportContent,
    *,
    upload_to_s3: bool = False,
    sink: ArtifactSink | None = None,
) -> dict[str, Any]:
    """Write the JSON report and return its download entry."""
    spec = report_json_spec(analysis_id, source_name)
    written = write_json_report(spec, content, choose_sink(upload_to_s3, sink))
    return describe_download(written, upload_to_s3)
