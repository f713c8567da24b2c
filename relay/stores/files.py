"""Reading staged files: the chunk size of streamed copies."""

from __future__ import annotations

CHUNK_BYTES = 1024 * 1024
