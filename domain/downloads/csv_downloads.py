"""The cleaned-data CSV download, streamed batch by batch with Arrow's C++ CSV writer.

UTF-8, comma separated, a header row of the cleaned column names, fields quoted only when
needed, nulls as empty fields. Cells a spreadsheet would run as formulas get a leading
apostrophe (:mod:`domain.downloads.cells`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, Final

import pyarrow as pa
from pyarrow import csv as pa_csv

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.cells import neutralise_batch
from domain.downloads.entries import choose_sink, cleaned_csv_spec, describe_download

# Rows rendered to text at a time: bounds the text buffer to a few MB whatever the batch size.
RENDER_ROWS: Final = 16_384


def cleaned_schema(header: Sequence[str]) -> pa.Schema:
    """All cleaned columns are strings (the engine's contract)."""
    return pa.schema([pa.field(name, pa.string()) for name in header])


def _render(batch: pa.RecordBatch, *, include_header: bool) -> pa.Buffer:
    out = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(include_header=include_header, quoting_style="needed")
    pa_csv.write_csv(batch, out, write_options=options)
    return out.getvalue()


def write_cleaned_csv(
    spec: ArtifactSpec,
    header: Sequence[str],
    batches: Iterable[pa.RecordBatch],
    sink: ArtifactSink,
) -> WrittenArtifact:
    """Stream ``batches`` (string columns named ``header``) into one CSV artifact."""
    schema = cleaned_schema(header)

    def write(stream: BinaryIO) -> None:
        header_written = False
        for batch in batches:
            if batch.schema.names != schema.names:
                raise ValueError(
                    f"cleaned batch columns {batch.schema.names} differ from header {list(header)}"
                )
            if batch.num_rows == 0 and header_written:
                continue
            safe = neutralise_batch(batch.cast(schema) if batch.schema != schema else batch)
            for start in range(0, max(1, safe.num_rows), RENDER_ROWS):
                part = safe.slice(start, RENDER_ROWS)
                stream.write(memoryview(_render(part, include_header=not header_written)))
                header_written = True
        if not header_written:
            empty = pa.RecordBatch.from_pylist([], schema=schema)
            stream.write(memoryview(_render(empty, include_header=True)))

    return sink.write_artifact(spec, write)


def generate_csv_download(
    analysis_id: str,
    source_name: str,
    header: Sequence[str],
    batches: Iterable[pa.RecordBatch],
    *,
    inline: bool = True,
    sink: ArtifactSink | None = None,
) -> dict[str, Any]:
    """Write the cleaned CSV and return its download entry (inline base64 or staged metadata)."""
    spec = cleaned_csv_spec(analysis_id, source_name)
    written = write_cleaned_csv(spec, header, batches, choose_sink(inline, sink))
    return describe_download(written, inline)
