"""The cleaned-data CSV download, streamed batch by batch with polars' CSV writer.

UTF-8, comma separated, a header row of the cleaned column names, fields quoted only when
needed, nulls as empty fields. The cells are written exactly as cleaned: formula-like cells are
reported by the engine and neutralised only when its ``formula_cells`` option says so.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, Final

import polars as pl
import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.entries import choose_sink, cleaned_csv_spec, describe_download

# Rows rendered to text at a time: bounds the text buffer to a few MB whatever the batch size.
RENDER_ROWS: Final = 16_384


def cleaned_schema(header: Sequence[str]) -> pa.Schema:
    """All cleaned columns are strings (the engine's contract)."""
    return pa.schema([pa.field(name, pa.string()) for name in header])


def _render(batch: pa.RecordBatch, *, include_header: bool) -> memoryview:
    # polars quotes only fields holding a comma, a quote or a line break (Arrow's "needed"
    # quotes every string, two bytes per cell); "" stays distinct from null (empty field)
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    out = io.BytesIO()
    frame.write_csv(out, include_header=include_header, quote_style="necessary")
    return out.getbuffer()


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
            typed = batch.cast(schema) if batch.schema != schema else batch
            for start in range(0, max(1, typed.num_rows), RENDER_ROWS):
                part = typed.slice(start, RENDER_ROWS)
                stream.write(_render(part, include_header=not header_written))
                header_written = True
        if not header_written:
            empty = pa.RecordBatch.from_pylist([], schema=schema)
            stream.write(_render(empty, include_header=True))

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
