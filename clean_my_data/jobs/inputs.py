"""Inputs of analysis jobs in the artifact store's ``inputs/`` area.

An input arrives as a stream of chunks; it is spooled to a private file in the scratch
directory (never held whole in memory) while it is counted and hashed, refused past
``max_bytes`` with nothing kept, then written create-only and checksum-verified to the store
under ``{prefix/}inputs/{YYYYmmddTHHMMSSZ}-{random}``. The time in the key is what the sweep
uses to leave inputs alone during their grace period.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Final

from domain.errors import InputError, UserFacingError
from outbox.clock import utcnow
from outbox.jobs.model import JobInput
from outbox.settings import Settings
from relay.stores.base import ErrorClass, ObjectStore, StoreError, UploadRequest

INPUTS_AREA: Final = "inputs"
_STAMP: Final = "%Y%m%dT%H%M%SZ"
_KEY_TAIL: Final = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{16}$")
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME_LENGTH: Final = 200
SPOOL_PREFIX: Final = ".input-"


class InputTooLargeError(UserFacingError):
    """The input is larger than ``MAX_UPLOAD_BYTES``."""


class InputStoreError(UserFacingError):
    """The artifact store could not take or give back an input."""


def inputs_prefix(settings: Settings) -> str:
    prefix = settings.store.prefix
    return f"{prefix}/{INPUTS_AREA}/" if prefix else f"{INPUTS_AREA}/"


def new_input_key(settings: Settings, now: datetime | None = None) -> str:
    stamp = (now or utcnow()).strftime(_STAMP)
    return f"{inputs_prefix(settings)}{stamp}-{secrets.token_hex(8)}"


def stored_at(key: str) -> datetime | None:
    """When an input key was made (from the key itself); None for keys not made here."""
    match = _KEY_TAIL.match(key.rsplit("/", 1)[-1])
    return None if match is None else datetime.strptime(match.group(1), _STAMP)


def safe_file_name(name: str) -> str:
    """A base name fit for a scratch file and a report: no directories, no odd characters,
    the extension kept (it tells CSV from XLSX)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")
    if not cleaned:
        cleaned = "input"
    if len(cleaned) > MAX_NAME_LENGTH:
        stem, dot, suffix = cleaned.rpartition(".")
        cleaned = (
            stem[: MAX_NAME_LENGTH - len(suffix) - 1] + dot + suffix
            if dot and len(suffix) < 16
            else cleaned[:MAX_NAME_LENGTH]
        )
    return cleaned


class InputSpool:
    """A private scratch file being filled with an input: counted, hashed, refused past
    ``max_bytes``. Use as a context manager: the file is removed on exit."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in finish/close)
            dir=directory, prefix=SPOOL_PREFIX, delete=False
        )
        self.path = Path(self._handle.name)
        self._digest = hashlib.sha256()
        self.max_bytes = max_bytes
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise InputTooLargeError(
                f"the input is larger than {self.max_bytes:,} bytes (MAX_UPLOAD_BYTES)"
            )
        self._digest.update(chunk)
        self._handle.write(chunk)

    def flush(self) -> None:
        self._handle.flush()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> InputSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def remove_stale_spools(directory: Path, older_than_seconds: float) -> list[Path]:
    """Spool files left by a process killed mid-upload (never stored, never a job)."""
    cutoff = time.time() - older_than_seconds
    removed: list[Path] = []
    for path in directory.glob(f"{SPOOL_PREFIX}*") if directory.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
    return removed


def store_spooled(store: ObjectStore, settings: Settings, spool: InputSpool, name: str) -> JobInput:
    """Write a filled spool create-only to a new key of the ``inputs/`` area."""
    spool.flush()
    if spool.size == 0:
        raise InputError(f"{safe_file_name(name)}: the file is empty")
    key = new_input_key(settings)
    try:
        store.upload(
            UploadRequest(
                key=key,
                path=spool.path,
                size_bytes=spool.size,
                sha256=spool.sha256,
                content_type="application/octet-stream",
                file_name=safe_file_name(name),
            )
        )
    except StoreError as exc:
        raise InputStoreError(
            f"cannot store the input ({exc.error_class.value}): {str(exc).splitlines()[0]}"
        ) from exc
    return JobInput(key=key, name=safe_file_name(name), size=spool.size, sha256=spool.sha256)


def store_input(
    store: ObjectStore, settings: Settings, chunks: Iterable[bytes], name: str
) -> JobInput:
    """Spool, hash and store one input; nothing is left behind when it fails."""
    if not name.strip():
        raise InputError("the input has no file name")
    with InputSpool(settings.worker_scratch_dir, settings.max_upload_bytes) as spool:
        for chunk in chunks:
            spool.write(chunk)
        return store_spooled(store, settings, spool, name)


def fetch_input(store: ObjectStore, job_input: JobInput, destination: Path) -> None:
    """Stream a stored input to ``destination``, verified against its size and sha256."""
    digest = hashlib.sha256()
    size = 0
    try:
        with destination.open("xb") as handle:
            for chunk in store.read_chunks(job_input.key):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            destination.unlink()
        raise
    if size != job_input.size or digest.hexdigest() != job_input.sha256:
        destination.unlink()
        raise StoreError(
            ErrorClass.CHECKSUM_MISMATCH,
            f"input {job_input.key} read back as {size} bytes, sha256 {digest.hexdigest()}; "
            f"expected {job_input.size} bytes, sha256 {job_input.sha256}",
        )


def delete_input(store: ObjectStore, key: str) -> bool:
    """Best effort: False when the store refused (the sweep tries again later)."""
    try:
        store.delete(key)
    except StoreError:
        return False
    return True
