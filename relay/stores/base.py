"""The object-store port. Adapters: ``relay.stores.s3`` (boto3) and ``relay.stores.local``
(a directory: the embedded default). One contract test suite runs against every adapter.

All writes are create-only: an object, once written under a key, is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Final


class ErrorClass(StrEnum):
    """How an upload failure is classified. Retryable ones are retried with backoff."""

    THROTTLED = "throttled"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    ACCESS_DENIED = "access_denied"
    NO_SUCH_BUCKET = "no_such_bucket"
    MISSING_STAGED_FILE = "missing_staged_file"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    CONFLICT = "conflict"  # a different object already exists under the key
    CLIENT_ERROR = "client_error"  # any other 4xx
    # Every allowed attempt was abandoned (the relay died or lost its lease each time): the
    # record is given up without another upload, so a poison record cannot loop forever.
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    TRANSFER_CORRUPTED = "transfer_corrupted"  # server saw other bytes than the staged file's
    # The record's s3_path is not in this relay's store (ARTIFACT_STORE_URL differs from the
    # transformer's): nothing is written, the staged file is kept for a requeue.
    STORE_MISMATCH = "store_mismatch"
    UNKNOWN = "unknown"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {
        ErrorClass.THROTTLED,
        ErrorClass.TIMEOUT,
        ErrorClass.CONNECTION,
        ErrorClass.SERVER_ERROR,
        ErrorClass.UNKNOWN,
        ErrorClass.TRANSFER_CORRUPTED,
    }
)


class StoreError(Exception):
    """A classified store failure. ``retry_after`` honours a server's Retry-After (seconds)."""

    def __init__(
        self, error_class: ErrorClass, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.error_class.retryable


@dataclass(frozen=True)
class UploadRequest:
    key: str
    path: Path  # the staged file
    size_bytes: int
    sha256: str  # lower-case hex of the whole object
    content_type: str
    file_name: str  # original name, for Content-Disposition
    metadata: Mapping[str, str] = field(default_factory=dict)
    # False: the staged file is private to the writer and was hashed as it was written
    # (a PendingObject), so the store does not read it once more to check the sha256.
    rehash: bool = True


SPOOL_PREFIX: Final = ".spool-"


class PendingObject:
    """An object being written chunk by chunk, counted and hashed as it goes, into a private
    temporary file; nothing is under its key until :meth:`publish` (create-only, verified like
    :meth:`ObjectStore.upload`). Leaving the ``with`` block removes the temporary file, so an
    object that was never published leaves nothing behind."""

    def __init__(
        self, temp: Path, request: UploadRequest, publish: Callable[[UploadRequest], UploadResult]
    ) -> None:
        try:
            self._handle: BinaryIO = temp.open("xb")
        except PermissionError as exc:
            raise StoreError(ErrorClass.ACCESS_DENIED, f"cannot create {temp}") from exc
        except OSError as exc:
            raise StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}") from exc
        self._request = replace(request, path=temp, size_bytes=0, sha256="", rehash=False)
        self._publish = publish
        self._digest = hashlib.sha256()
        self.size = 0

    @property
    def key(self) -> str:
        return self._request.key

    @property
    def path(self) -> Path:
        return self._request.path

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        try:
            self._handle.write(chunk)
        except OSError as exc:
            raise StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}") from exc
        self.size += len(chunk)

    def publish(self) -> UploadResult:
        """Write the object under its key, create-only; blocking (fsync, network)."""
        try:
            self._handle.close()
        except OSError as exc:
            raise StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}") from exc
        return self._publish(replace(self._request, size_bytes=self.size, sha256=self.sha256))

    def discard(self) -> None:
        """Remove the temporary file (the published object, if any, stays)."""
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> PendingObject:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()


def temporary_name(prefix: str, tail: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}-{tail}"


def remove_stale_files(directory: Path, pattern: str, older_than: datetime) -> list[Path]:
    """Files matching ``pattern`` in ``directory`` last written before ``older_than`` (naive
    datetimes are UTC), removed."""
    cutoff = (older_than if older_than.tzinfo else older_than.replace(tzinfo=UTC)).timestamp()
    removed: list[Path] = []
    for path in directory.glob(pattern) if directory.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
    return removed


@dataclass(frozen=True)
class UploadResult:
    key: str
    etag: str | None
    bytes_sent: int
    created: bool  # False: the same bytes were already there (create-only write answered 412)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    sha256: str | None  # lower-case hex when known (HEAD with metadata/checksum), else None
    etag: str | None = None


class ObjectStore(ABC):
    @abstractmethod
    def upload(self, request: UploadRequest) -> UploadResult:
        """Create-only upload, verified by checksum. Same bytes already present: success with
        ``created=False``. Different bytes present: ``StoreError(CONFLICT)``."""

    def open_object(self, request: UploadRequest, spool_dir: Path) -> PendingObject:
        """An object to write chunk by chunk (``request.path``, ``size_bytes`` and ``sha256``
        are ignored: they come from the bytes written). Here: spooled to ``spool_dir``, then
        uploaded without hashing the spool again; a store may write it in place instead."""
        try:
            spool_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(ErrorClass.ACCESS_DENIED, f"cannot create {spool_dir}") from exc
        temp = spool_dir / temporary_name(SPOOL_PREFIX, "object")
        return PendingObject(temp, request, self.upload)

    def remove_abandoned_writes(self, prefix: str, spool_dir: Path, older_than: datetime) -> int:
        """Remove what writers killed before :meth:`PendingObject.publish` left behind (under
        ``prefix`` or in ``spool_dir``) before ``older_than``; how many were removed."""
        del prefix
        return len(remove_stale_files(spool_dir, f"{SPOOL_PREFIX}*", older_than))

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size and sha256 of the object, or None when absent."""

    @abstractmethod
    def iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, read in pages (sha256 may be None here)."""

    @abstractmethod
    def presign_get(self, key: str, ttl_seconds: int) -> str:
        """A URL that downloads the object for ``ttl_seconds`` and then stops working."""

    def presign_post(
        self, key: str, *, max_bytes: int, sha256: str, ttl_seconds: int
    ) -> tuple[str, dict[str, str]] | None:
        """A browser upload straight to the store: ``(url, form fields)`` whose policy allows
        exactly ``key``, at most ``max_bytes``, the declared ``sha256`` as metadata, for
        ``ttl_seconds``; None when the store has no such thing (a local directory)."""
        return None

    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks, streamed (inputs of analysis jobs). ``StoreError``
        (``CLIENT_ERROR``) when the object is absent."""
        raise StoreError(ErrorClass.CLIENT_ERROR, f"{type(self).__name__} cannot read objects")

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (operations and tests; the relay never deletes)."""

    @abstractmethod
    def location_of(self, key: str) -> str:
        """The canonical location stored in ``downloads.s3_path`` (``s3://bucket/key``)."""

    def root_location(self) -> str:
        """Where this store's keys start (``s3://bucket/``, ``file:///dir/``)."""
        return self.location_of("_")[:-1]

    def key_of(self, location: str) -> str | None:
        """The inverse of :meth:`location_of`: the key of a location in this store, or None
        when the location points elsewhere (another bucket or directory)."""
        root = self.root_location()
        if location.startswith(root) and len(location) > len(root):
            return location[len(root) :]
        return None
