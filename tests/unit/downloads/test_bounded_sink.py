from __future__ import annotations

import pytest

from domain.artifacts import ArtifactSpec
from domain.downloads.bounded_sink import BoundedMemorySink, InlineLimitError
from domain.model import ArtifactFormat

SPEC = ArtifactSpec("an-1", "cleaned_csv", "cleaned.csv", ArtifactFormat.CSV)


def test_bounded_sink_keeps_content_under_the_limit() -> None:
    sink = BoundedMemorySink(10)
    written = sink.write_artifact(SPEC, lambda stream: stream.write(b"0123456789"))
    assert written.content == b"0123456789"
    assert written.size_bytes == 10
    assert sink.used_bytes == 10


def test_bounded_sink_refuses_the_write_that_crosses_the_limit_across_artifacts() -> None:
    sink = BoundedMemorySink(15)
    sink.write_artifact(SPEC, lambda stream: stream.write(b"0123456789"))
    chunks: list[int] = []

    def write(stream):  # type: ignore[no-untyped-def]
        for _ in range(3):
            stream.write(b"abc")
            chunks.append(3)

    with pytest.raises(InlineLimitError, match="INLINE_MAX_BYTES"):
        sink.write_artifact(SPEC, write)
    assert chunks == [3]  # stopped at the second write, not after all of them
