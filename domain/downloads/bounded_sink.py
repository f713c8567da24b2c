"""A memory sink with a ceiling, for the inline (base64) behaviour.

Inline artifacts live in memory and then again as base64 in the printed object, so their total
size is capped: the write that would cross ``max_bytes`` fails at once with a one-line
:class:`InlineLimitError` instead of growing the process without bound.
"""

from __future__ import annotations

import threading
from typing import BinaryIO

from domain.artifacts import ArtifactSpec, MemorySink, WriteFn, WrittenArtifact
from domain.errors import UserFacingError


class InlineLimitError(UserFacingError):
    """The inline artifacts would exceed the configured ceiling."""


class _CountingStream:
    def __init__(self, inner: BinaryIO, sink: BoundedMemorySink, spec: ArtifactSpec) -> None:
        self._inner = inner
        self._sink = sink
        self._spec = spec

    def write(self, data: bytes | bytearray | memoryview) -> int:
        size = memoryview(data).nbytes
        self._sink.charge(size, self._spec)
        return self._inner.write(data)

    def flush(self) -> None:
        self._inner.flush()

    def tell(self) -> int:
        return self._inner.tell()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class BoundedMemorySink(MemorySink):
    """:class:`MemorySink` refusing more than ``max_bytes`` over all its artifacts."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self._max_bytes = max_bytes
        self._lock = threading.Lock()  # the JSON report is written on its own thread
        self.used_bytes = 0

    def charge(self, size: int, spec: ArtifactSpec) -> None:
        with self._lock:
            self.used_bytes += size
            used = self.used_bytes
        if used > self._max_bytes:
            raise InlineLimitError(
                f"the inline downloads exceed {self._max_bytes:,} bytes (INLINE_MAX_BYTES) while "
                f"writing {spec.file_name}; run without --inline to stage them instead"
            )

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        def counted(stream: BinaryIO) -> None:
            write(_CountingStream(stream, self, spec))  # type: ignore[arg-type]

        return super().write_artifact(spec, counted)
