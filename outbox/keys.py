"""Object keys: ``{prefix/}{env}/{tool}/{analysis_id}/{timestamp}_{sanitized_file_name}``.

Every part is reduced to lower-case ``[a-z0-9._-]``, without ``..``, without leading dots or
dashes, and bounded in length, so a key is always safe whatever the analysis id or file name.
When sanitising changes a part (case, unsafe characters, truncation) a short hash of the
original is appended.

The analysis id's folder is injective: an id is used as it is only when it is already safe and
does not end like a hashed folder (``-`` and 16 hex digits); any other id gets ``-`` and the
first 16 hex digits of its sha256. A folder kept as it is never ends in that form and a hashed
one always does, so two different ids share a folder only if their 64-bit hashes collide
(``ABC1`` and the valid id ``abc1-<hash of ABC1>`` get different folders). Keys are stored in
the rows, so objects written under earlier folder names stay readable.

Same-second re-runs: an object, once written, is never overwritten (create-only writes). The
staging sink therefore passes the first 12 hex digits of the artifact's sha256 as
``discriminator``; it goes between the file name's stem and its extension. The same bytes always
get the same key (a repeated upload answers "already present"); different bytes always get a new
key, even within the same second.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import Final

from outbox.settings import StoreLocation

MAX_KEY_LENGTH: Final = 512
_MAX_PREFIX = 128
_MAX_ENV = 32
_MAX_TOOL = 64
_MAX_ID = 80
_MAX_STEM = 120
_MAX_EXT = 10
_HASH_LEN = 8
_ID_HASH_LEN = 16

_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_RUNS = re.compile(r"[-._]{2,}")  # "..", ".-", "__": collapsed to one "-"
_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")
_HASHED_FOLDER = re.compile(rf"-[0-9a-f]{{{_ID_HASH_LEN}}}$")


def _ascii_lower(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.lower()


def _short_hash(text: str, length: int = _HASH_LEN) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _clean(text: str) -> str:
    cleaned = _UNSAFE.sub("-", _ascii_lower(text))
    cleaned = _RUNS.sub("-", cleaned)
    return cleaned.strip(".-_")


def sanitize_segment(text: str, *, limit: int, fallback: str) -> str:
    """One safe path segment of at most ``limit`` characters; never empty, never ``.``/``..``."""
    cleaned = _clean(text)
    if cleaned == text and 0 < len(cleaned) <= limit:
        return cleaned
    base = cleaned[: limit - _HASH_LEN - 1].rstrip(".-_") or fallback
    return f"{base}-{_short_hash(text)}"


def build_analysis_folder(analysis_id: str) -> str:
    """The analysis id's folder in the object store: injective (see the module docstring)."""
    cleaned = _clean(analysis_id)
    if (
        cleaned == analysis_id
        and 0 < len(cleaned) <= _MAX_ID
        and _HASHED_FOLDER.search(cleaned) is None
    ):
        return cleaned
    base = cleaned[: _MAX_ID - _ID_HASH_LEN - 1].rstrip(".-_") or "analysis"
    return f"{base}-{_short_hash(analysis_id, _ID_HASH_LEN)}"


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name, ""
    ext_clean = _ascii_lower(ext)
    if _EXTENSION.match(ext_clean) is None:
        return name, ""
    return stem, ext_clean


def sanitize_file_name(file_name: str, discriminator: str | None = None) -> str:
    """The base name only, lower-case, safe, bounded; the extension (1-10 ASCII alphanumerics)
    is kept; ``discriminator`` (if any) goes between stem and extension."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = _split_extension(base)
    clean_stem = _clean(stem)[:_MAX_STEM].rstrip(".-_") or "file"
    if discriminator:
        clean_stem = f"{clean_stem}-{_clean(discriminator)[:16]}".rstrip(".-_")
    return f"{clean_stem}.{ext}" if ext else clean_stem


def format_key_timestamp(timestamp: datetime | str) -> str:
    """``20261129t123456z`` for a datetime (naive = UTC) or an ISO-8601 string."""
    if isinstance(timestamp, str):
        text = timestamp
        try:
            timestamp = datetime.fromisoformat(text.strip())
        except ValueError:
            return sanitize_segment(text, limit=32, fallback="t")
    if timestamp.tzinfo is not None:
        timestamp = timestamp.astimezone(UTC)
    return timestamp.strftime("%Y%m%dt%H%M%Sz")


def _sanitize_prefix(prefix: str) -> str:
    parts = [p for p in prefix.replace("\\", "/").split("/") if _clean(p)]
    cleaned = "/".join(sanitize_segment(p, limit=64, fallback="p") for p in parts)
    if len(cleaned) > _MAX_PREFIX:
        cleaned = sanitize_segment(cleaned.replace("/", "-"), limit=64, fallback="p")
    return cleaned


def build_object_key(  # noqa: PLR0917 (the contract names six parts)
    prefix: str,
    env: str,
    tool: str,
    analysis_id: str,
    timestamp: datetime | str,
    file_name: str,
    *,
    discriminator: str | None = None,
) -> str:
    """The object key of one artifact (see the module docstring). Deterministic."""
    parts = [
        sanitize_segment(env, limit=_MAX_ENV, fallback="env"),
        sanitize_segment(tool, limit=_MAX_TOOL, fallback="tool"),
        build_analysis_folder(analysis_id),
        f"{format_key_timestamp(timestamp)}_{sanitize_file_name(file_name, discriminator)}",
    ]
    clean_prefix = _sanitize_prefix(prefix)
    if clean_prefix:
        parts.insert(0, clean_prefix)
    key = "/".join(parts)
    assert len(key) <= MAX_KEY_LENGTH, key  # guaranteed by the bounds above
    return key


def build_s3_path(store: StoreLocation, key: str) -> str:
    """``s3://bucket/key`` for S3 stores, ``file:///dir/key`` for local directory stores."""
    if store.is_s3:
        return f"s3://{store.bucket}/{key}"
    return f"file://{store.bucket.rstrip('/')}/{key}"
