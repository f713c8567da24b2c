"""Input reading: sniff a file (format, encoding, delimiter, header) and stream it in chunks.

Pure with respect to the project's layers (no database, no object store, no logging setup);
it only reads the input file it is given.
"""

from __future__ import annotations

from domain.reading.chunks import RaggedRow, RawChunk, SourceSpec
from domain.reading.sniffing import sniff_source
from domain.reading.stream import read_chunks

__all__ = ["RaggedRow", "RawChunk", "SourceSpec", "read_chunks", "sniff_source"]
