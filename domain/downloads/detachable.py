"""A write-only stream that a writer may keep using after its artifact is finished or failed.

A zip writer (the workbook's) that fails half-way, on a full disk for instance, stays
referenced by the traceback; when it is collected its ``ZipFile.__del__`` writes the central
directory to a file the sink has already closed, and Python prints that second error behind
the caller's back. Once :meth:`DetachableStream.detach` is called, or once a write has failed,
further writes go nowhere: the first error is the one the caller sees.
"""

from __future__ import annotations

from typing import Any, BinaryIO


class DetachableStream:
    def __init__(self, target: BinaryIO) -> None:
        self._target: BinaryIO | None = target
        self._position = 0

    def detach(self) -> None:
        self._target = None

    def close(self) -> None:
        """The same as :meth:`detach`: the target is the caller's to close."""
        self.detach()

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if self._target is None:
            return size
        try:
            self._target.write(data)
        except BaseException:
            self._target = None
            raise
        self._position += size
        return size

    def flush(self) -> None:
        if self._target is not None:
            try:
                self._target.flush()
            except BaseException:
                self._target = None
                raise

    def tell(self) -> int:
        return self._position

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False
