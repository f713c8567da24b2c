"""A disk that fills while the workbook is written: the writer's error reaches the sink once,
and nothing is printed behind the caller's back afterwards (no ``ZipFile.__del__`` traceback)."""

from __future__ import annotations

import errno
import gc
import sys
from pathlib import Path
from typing import Any

import pytest

from domain.artifacts import ArtifactSink, ArtifactSpec, WriteFn, WrittenArtifact
from domain.downloads.excel_downloads import generate_excel_download
from tests.unit.downloads.fakes import make_content


class _FullDisk:
    """A write-only stream whose device fills after ``room`` bytes."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.closed = False

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return len(data)

    def flush(self) -> None:
        if self.closed:
            raise ValueError("flush of closed file")

    def tell(self) -> int:
        return 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class _FullDiskSink(ArtifactSink):
    def __init__(self, room: int) -> None:
        self.room = room

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        stream = _FullDisk(self.room)
        try:
            write(stream)  # type: ignore[arg-type]
        finally:
            stream.closed = True  # as the staging sink closes its file
        raise AssertionError("the write should have failed")


@pytest.mark.parametrize("room", [0, 2_000, 6_000])
def test_disk_full_raises_once_and_leaves_nothing_to_print(
    tmp_path: Path, room: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ignored: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    content = make_content(tmp_path, 200)
    with pytest.raises(OSError, match="No space left") as caught:
        generate_excel_download("an-1", "s.csv", content, inline=False, sink=_FullDiskSink(room))
    assert caught.value.errno == errno.ENOSPC
    del caught
    gc.collect()
    assert [str(item.exc_value) for item in ignored] == []
