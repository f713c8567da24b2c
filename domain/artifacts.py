"""The port through which download generators write their bytes, and its in-memory adapter.

Generators never hold an artifact whole: they get a writable binary stream from an
:class:`ArtifactSink` and write into it. ``outbox.staging`` implements the sink on disk (temporary
name, fsync, atomic rename, sha256 while writing); :class:`MemorySink` here serves the inline
(old, base64) behaviour and unit tests.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

from domain.model import ArtifactFormat

# Namespace for deterministic download ids: uuid5(namespace, f"{analysis_id}/{artifact_kind}").
DOWNLOAD_ID_NAMESPACE: Final = uuid.UUID("5b0f6a51-1c39-4d0e-9a55-6f4c1f1e7b1d")

CONTENT_TYPES: Final = {
    ArtifactFormat.CSV: "text/csv; charset=utf-8",
    ArtifactFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ArtifactFormat.JSON: "application/json",
    ArtifactFormat.PARQUET: "application/vnd.apache.parquet",
}


def derive_download_id(analysis_id: str, artifact_kind: str) -> str:
    """The same analysis and artifact always get the same id, so re-runs are idempotent."""
    return str(uuid.uuid5(DOWNLOAD_ID_NAMESPACE, f"{analysis_id}/{artifact_kind}"))


@dataclass(frozen=True)
class ArtifactSpec:
    analysis_id: str
    kind: str  # "cleaned_csv" | "report_xlsx" | "report_json" | "row_trail"
    file_name: str  # user-facing name, e.g. "cleaned_sales.csv"
    format: ArtifactFormat

    @property
    def download_id(self) -> str:
        return derive_download_id(self.analysis_id, self.kind)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


@dataclass(frozen=True)
class WrittenArtifact:
    spec: ArtifactSpec
    size_bytes: int
    sha256: str  # lower-case hex
    staged_path: str | None  # relative to the staging directory; None for memory
    object_key: str | None  # key in the object store; None for memory
    s3_path: str | None  # "s3://bucket/key" (or file:// for local stores); None for memory
    content: bytes | None  # only from MemorySink (inline mode)


WriteFn = Callable[[BinaryIO], None]


class ArtifactSink(ABC):
    """Where generators put artifacts. ``write_artifact`` calls ``write`` with a binary stream;
    when ``write`` returns the artifact is complete and durable; if it raises, nothing remains."""

    @abstractmethod
    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact: ...


class _HashingBuffer(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.digest.update(data)
        return super().write(data)


class MemorySink(ArtifactSink):
    """Keeps artifacts in memory: the inline behaviour (``content_base64``)."""

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        buffer = _HashingBuffer()
        write(buffer)
        content = buffer.getvalue()
        return WrittenArtifact(
            spec=spec,
            size_bytes=len(content),
            sha256=buffer.digest.hexdigest(),
            staged_path=None,
            object_key=None,
            s3_path=None,
            content=content,
        )
