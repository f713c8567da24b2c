"""Artifact naming and the download entries that go into the final object.

Inline (``inline=True``): ``download_id``, ``file_name``, ``format``,
``size_bytes``, ``content_base64``. Staged (``inline=False``): ``download_id``,
``file_name``, ``format``, ``size_bytes``, ``sha256``, ``s3_path`` and ``status: "pending"``;
the relay later flips the status.
"""

from __future__ import annotations

import base64
import re
from pathlib import PurePath
from typing import Any, Final

from domain.artifacts import ArtifactSink, ArtifactSpec, MemorySink, WrittenArtifact
from domain.model import ArtifactFormat

CLEANED_CSV: Final = "cleaned_csv"
REPORT_XLSX: Final = "report_xlsx"
REPORT_JSON: Final = "report_json"
ROW_TRAIL: Final = "row_trail"
# every analysis delivers these artifacts, in this order
ARTIFACT_KINDS: Final = (CLEANED_CSV, REPORT_XLSX, REPORT_JSON, ROW_TRAIL)

PENDING: Final = "pending"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 100


def source_stem(source_name: str) -> str:
    """A short, filesystem-safe stem of the input's name: ``"Sales 2024.csv"`` -> ``sales_2024``."""
    stem = PurePath(source_name.replace("\\", "/")).stem
    stem = _UNSAFE.sub("_", stem).strip("._-").lower()[:_MAX_STEM]
    return stem or "data"


def cleaned_csv_spec(analysis_id: str, source_name: str) -> ArtifactSpec:
    name = f"cleaned_{source_stem(source_name)}.csv"
    return ArtifactSpec(analysis_id, CLEANED_CSV, name, ArtifactFormat.CSV)


def report_xlsx_spec(analysis_id: str, source_name: str) -> ArtifactSpec:
    name = f"{source_stem(source_name)}_report.xlsx"
    return ArtifactSpec(analysis_id, REPORT_XLSX, name, ArtifactFormat.XLSX)


def report_json_spec(analysis_id: str, source_name: str) -> ArtifactSpec:
    name = f"{source_stem(source_name)}_report.json"
    return ArtifactSpec(analysis_id, REPORT_JSON, name, ArtifactFormat.JSON)


def row_trail_spec(analysis_id: str, source_name: str) -> ArtifactSpec:
    name = f"{source_stem(source_name)}_row_trail.parquet"
    return ArtifactSpec(analysis_id, ROW_TRAIL, name, ArtifactFormat.PARQUET)


def choose_sink(inline: bool, sink: ArtifactSink | None) -> ArtifactSink:
    """The sink a generator writes into: the given one, or memory for inline entries."""
    if sink is not None:
        return sink
    if not inline:
        raise ValueError("inline=False needs a sink (the outbox's staging sink)")
    return MemorySink()


def describe_download(
    written: WrittenArtifact, inline: bool, *, include_content: bool = True
) -> dict[str, Any]:
    """The download entry of the final object for one written artifact."""
    entry: dict[str, Any] = {
        "download_id": written.spec.download_id,
        "file_name": written.spec.file_name,
        "format": str(written.spec.format),
        "size_bytes": written.size_bytes,
    }
    if not inline:
        entry["sha256"] = written.sha256
        entry["s3_path"] = written.s3_path
        entry["status"] = PENDING
        return entry
    if include_content:
        if written.content is None:
            raise ValueError(f"{written.spec.file_name}: inline entry needs in-memory content")
        entry["content_base64"] = base64.b64encode(written.content).decode("ascii")
    else:
        entry["sha256"] = written.sha256
    return entry
