"""HTTP header values the stores attach to objects (pure functions, no I/O)."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

_ASCII_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~ ()[]{},;:@=?/"
)


def build_content_disposition(file_name: str) -> str:
    """``attachment`` with the original name: an ASCII fallback plus RFC 5987 ``filename*``.

    RFC 6266: ``filename`` is a quoted string (we keep it to safe ASCII and drop quotes and
    backslashes); ``filename*`` carries the exact UTF-8 name percent-encoded.
    """
    fallback = "".join(ch if ch in _ASCII_SAFE else "_" for ch in file_name).strip() or "download"
    encoded = quote(file_name, safe="!#$&+-.^_`|~")
    if fallback == file_name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def hex_to_base64(hex_digest: str) -> str:
    """S3 checksum headers carry the digest base64-encoded, we keep hex."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def base64_to_hex(value: str) -> str | None:
    """Hex of a base64 S3 checksum; None for composite (``...-N``) or malformed values."""
    if "-" in value:
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError:
        return None


def composite_sha256(part_digests: list[bytes]) -> str:
    """S3's COMPOSITE multipart checksum: base64(sha256(d1 || d2 || ...)) + "-N"."""
    combined = hashlib.sha256(b"".join(part_digests)).digest()
    return f"{base64.b64encode(combined).decode('ascii')}-{len(part_digests)}"
