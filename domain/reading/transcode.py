"""Inputs in other encodings, handed to pyarrow as UTF-8.

pyarrow's own transcoding (``ReadOptions.encoding``) reads its source in sizes of its choosing,
several reads per parsed block, which defeats the one-read-per-block accounting of
:class:`~domain.reading.readahead.GatedInput` (each surplus read waited out the gate's timeout:
two seconds per block, measured 4.1 s to read a 20 MB cp1252 file instead of 0.13 s).
:class:`Utf8Transcoder` decodes here instead, so pyarrow always parses UTF-8 and reads once per
block, and :meth:`tell` still counts bytes of the file itself (for progress).
"""

from __future__ import annotations

from typing import BinaryIO

from domain.reading.encodings import incremental_decoder


class Utf8Transcoder:
    """A read-only binary stream: the text of ``handle`` (in ``encoding``) as UTF-8 bytes.
    Decoding errors raise :class:`UnicodeDecodeError` from :meth:`read`."""

    def __init__(self, handle: BinaryIO, encoding: str) -> None:
        self._handle = handle
        self._decoder = incremental_decoder(encoding)
        self._pending = b""  # encoded output not handed out yet
        self._raw_position = 0
        self._eof = False

    def tell(self) -> int:
        """Bytes of the underlying file read so far (not of the UTF-8 output)."""
        return self._raw_position

    def read(self, size: int = -1) -> bytes:
        """At most ``size`` bytes of UTF-8 (all that is left when ``size`` < 0)."""
        while not self._eof and (size < 0 or len(self._pending) < size):
            raw = self._handle.read(size if size > 0 else -1)
            self._raw_position += len(raw)
            text = self._decoder.decode(raw, final=not raw)
            self._pending += text.encode("utf-8")
            self._eof = not raw
        if size < 0:
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data
