"""The JSON report download: the final object with EVERY row-level issue, streamed.

The object around the list is small and serialised at once; the row-level issues (which grow
with the input) are read back from the spill batch by batch and encoded per batch by polars
(one JSON object per row, in C, on a thread ahead of the writer), so neither the list nor the
document is ever built whole in memory. UTF-8, compact separators.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Final

import numpy as np
import polars as pl
import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.content import ReportContent
from domain.downloads.entries import choose_sink, describe_download, report_json_spec
from domain.prefetch import prefetch


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


SERIALISE_AHEAD: Final = 2  # encoded batches waiting for the writer (~10 MB each)


def _serialise_batch(batch: pa.RecordBatch) -> memoryview:
    """One batch of row issues as comma-separated JSON objects (the array without brackets):
    polars encodes each row (a struct of the columns, in schema order) to a JSON object with a
    trailing comma, and the values buffer of that string column is the text, without a copy."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    encoded = (
        frame.select(pl.concat_str(pl.struct(pl.all()).struct.json_encode(), pl.lit(",")))
        .to_series()
        .to_arrow(compat_level=pl.CompatLevel.oldest())
    )
    if not pa.types.is_large_string(encoded.type):
        encoded = encoded.cast(pa.large_string())
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    offsets = np.frombuffer(encoded.buffers()[1], dtype=np.int64)
    first = int(offsets[encoded.offset])
    last = int(offsets[encoded.offset + len(encoded)])
    return memoryview(encoded.buffers()[2])[first : last - 1]  # without the last comma


def write_row_issue_array(stream: BinaryIO, batches: Iterable[pa.RecordBatch]) -> int:
    """Write ``[...]`` of row-issue objects; returns how many were written. Batches are
    encoded on a thread (polars releases the GIL) while the previous ones are written."""

    def encode() -> Iterator[tuple[int, memoryview]]:
        for batch in batches:
            if batch.num_rows:
                yield batch.num_rows, _serialise_batch(batch)

    stream.write(b"[")
    written = 0
    for rows, text in prefetch(encode, SERIALISE_AHEAD):
        if written:
            stream.write(b",")
        stream.write(text)
        written += rows
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
