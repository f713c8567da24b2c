"""The local-directory adapter (``file:///abs/dir``): the embedded default.

An upload copies the staged file to a temporary name in the target directory while hashing it,
fsyncs it, then links it to its final name (``os.link`` fails if the name exists, so the write
is create-only like S3's ``If-None-Match: *``) and fsyncs the directory. The sha256 travels in a
sidecar file ``<key>.sha256`` written before the link, so ``head`` never hashes big files.
An object written chunk by chunk (:meth:`LocalStore.open_object`) goes straight to that
temporary name, hashed as it arrives, and is published the same way; temporary files a killed
writer left are removed by :meth:`LocalStore.remove_abandoned_writes`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath

from outbox import crashpoints
from outbox.staging import hash_file
from relay.stores.base import (
    ErrorClass,
    ObjectInfo,
    ObjectStore,
    PendingObject,
    StoreError,
    UploadRequest,
    UploadResult,
    remove_stale_files,
    temporary_name,
)
from relay.stores.files import CHUNK_BYTES

SIDECAR_SUFFIX = ".sha256"
TEMP_PREFIX = ".tmp-"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _classified(exc: OSError, missing: str) -> StoreError:
    if isinstance(exc, FileNotFoundError):
        return StoreError(ErrorClass.MISSING_STAGED_FILE, f"{missing}: {exc}")
    if isinstance(exc, PermissionError):
        return StoreError(ErrorClass.ACCESS_DENIED, str(exc))
    if isinstance(exc, NotADirectoryError | IsADirectoryError | FileExistsError):
        # A file where the key needs a folder, or a folder where it needs a file: the store's
        # layout is in the way, and trying again changes nothing until someone moves it.
        return StoreError(ErrorClass.CONFLICT, f"the store's layout is in the way: {exc}")
    return StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}")


class LocalStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path_of(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StoreError(ErrorClass.CLIENT_ERROR, f"unsafe object key {key!r}")
        return self._root.joinpath(*parts)

    def local_path(self, key: str) -> Path:
        """Where the object of ``key`` lives on disk (the HTTP API streams it from there)."""
        return self._path_of(key)

    def _target_of(self, key: str) -> Path:
        target = self._path_of(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _classified(exc, f"cannot create {target.parent}") from exc
        return target

    def upload(self, request: UploadRequest) -> UploadResult:
        target = self._target_of(request.key)
        if target.exists():
            return self._compare_existing(request)
        temp = target.parent / temporary_name(TEMP_PREFIX, target.name)
        try:
            sent = self._copy_verified(request, temp)
            return self._link(temp, target, request, sent)
        except OSError as exc:
            raise _classified(exc, "staged file missing") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def open_object(self, request: UploadRequest, spool_dir: Path) -> PendingObject:
        """Written in place: a temporary file next to the key's, linked by ``publish``."""
        del spool_dir
        target = self._target_of(request.key)
        temp = target.parent / temporary_name(TEMP_PREFIX, target.name)
        return PendingObject(temp, request, partial(self._publish_written, target))

    def _publish_written(self, target: Path, request: UploadRequest) -> UploadResult:
        if target.exists():
            return self._compare_existing(request)
        try:
            fd = os.open(request.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return self._link(request.path, target, request, request.size_bytes)
        except OSError as exc:
            raise _classified(exc, "written file missing") from exc

    def _link(self, temp: Path, target: Path, request: UploadRequest, sent: int) -> UploadResult:
        """A complete, fsynced temporary file to its final name, create-only."""
        self._write_sidecar(target, request.sha256)
        try:
            os.link(temp, target)
        except FileExistsError:
            return self._compare_existing(request)
        _fsync_directory(target.parent)
        return UploadResult(request.key, request.sha256[:32], sent, created=True)

    def remove_abandoned_writes(self, prefix: str, spool_dir: Path, older_than: datetime) -> int:
        directory = self._root.joinpath(*PurePosixPath(prefix).parts) if prefix else self._root
        stale = remove_stale_files(directory, f"{TEMP_PREFIX}*", older_than)
        return len(stale) + super().remove_abandoned_writes(prefix, spool_dir, older_than)

    def _copy_verified(self, request: UploadRequest, temp: Path) -> int:
        digest = hashlib.sha256()
        sent = 0
        with request.path.open("rb") as source, temp.open("xb") as sink:
            while chunk := source.read(CHUNK_BYTES):
                digest.update(chunk)
                sink.write(chunk)
                sent += len(chunk)
                crashpoints.reach(crashpoints.MID_UPLOAD)  # partly copied, not linked yet
            sink.flush()
            os.fsync(sink.fileno())
        if sent != request.size_bytes or digest.hexdigest() != request.sha256:
            raise StoreError(
                ErrorClass.CHECKSUM_MISMATCH,
                f"staged file's sha256 {digest.hexdigest()} ({sent} bytes) no longer matches "
                f"{request.sha256} ({request.size_bytes} bytes)",
            )
        return sent

    def _write_sidecar(self, target: Path, sha256: str) -> None:
        sidecar = target.with_name(target.name + SIDECAR_SUFFIX)
        temp = sidecar.with_name(temporary_name(TEMP_PREFIX, sidecar.name))
        temp.write_text(sha256 + "\n", encoding="ascii")
        os.replace(temp, sidecar)

    def _compare_existing(self, request: UploadRequest) -> UploadResult:
        existing = self.head(request.key)
        if (
            existing is not None
            and existing.sha256 == request.sha256
            and existing.size_bytes == request.size_bytes
        ):
            return UploadResult(request.key, existing.etag, 0, created=False)
        found = "nothing" if existing is None else f"sha256 {existing.sha256}"
        raise StoreError(
            ErrorClass.CONFLICT,
            f"{request.key} already holds different bytes ({found}; ours {request.sha256})",
        )

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path_of(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        try:
            sha256 = sidecar.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            sha256 = hash_file(path)
        return ObjectInfo(key=key, size_bytes=size, sha256=sha256, etag=sha256[:32])

    def iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        if not self._root.exists():
            return
        for path in sorted(self._root.rglob("*")):
            if not path.is_file() or path.name.startswith(TEMP_PREFIX):
                continue
            if path.name.endswith(SIDECAR_SUFFIX):
                continue
            key = path.relative_to(self._root).as_posix()
            if key.startswith(prefix):
                yield ObjectInfo(key=key, size_bytes=path.stat().st_size, sha256=None)

    def presign_get(self, key: str, ttl_seconds: int) -> str:
        """A local directory has no signed URLs: the plain ``file://`` location."""
        return self.location_of(key)

    def read_chunks(self, key: str) -> Iterator[bytes]:
        try:
            handle = self._path_of(key).open("rb")
        except FileNotFoundError as exc:
            raise StoreError(ErrorClass.CLIENT_ERROR, f"no object {key!r}") from exc
        with handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path_of(key)
        for victim in (path, path.with_name(path.name + SIDECAR_SUFFIX)):
            with contextlib.suppress(FileNotFoundError):
                victim.unlink()

    def location_of(self, key: str) -> str:
        return f"file://{self._path_of(key)}"
