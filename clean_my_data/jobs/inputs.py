"""Inputs of analysis jobs in the artifact store's ``inputs/`` area.

An input arrives as a stream of chunks; it is written to the store's temporary file (a local
store writes it next to its key, an S3 store spools it to the scratch directory), never held
whole in memory, counted and hashed once as it arrives, refused past ``max_bytes`` with nothing
kept, then published create-only and checksum-verified under
``{prefix/}inputs/{YYYYmmddTHHMMSSZ}-{random}``. The time in the key is what the sweep uses to
leave inputs alone during their grace period.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
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


def _unavailable(exc: StoreError) -> InputStoreError:
    return InputStoreError(
        f"cannot store the input ({exc.error_class.value}): {str(exc).splitlines()[0]}"
    )


class PendingInput:
    """An input being written to a new key of the store's ``inputs/`` area as it arrives:
    counted and hashed on the fly (once), refused past ``MAX_UPLOAD_BYTES``. Nothing is under
    the key until :meth:`publish`; leaving the ``with`` block removes what was not published."""

    def __init__(self, store: ObjectStore, settings: Settings, name: str) -> None:
        if not name.strip():
            raise InputError("the input has no file name")
        self.name = safe_file_name(name)
        self.max_bytes = settings.max_upload_bytes
        request = UploadRequest(
            key=new_input_key(settings),
            path=settings.worker_scratch_dir,  # replaced by the object's temporary file
            size_bytes=0,
            sha256="",
            content_type="application/octet-stream",
            file_name=self.name,
        )
        try:
            self._object = store.open_object(request, settings.worker_scratch_dir)
        except StoreError as exc:
            raise _unavailable(exc) from exc

    @property
    def size(self) -> int:
        return self._object.size

    @property
    def path(self) -> Path:
        """The temporary file being written (removed on exit, linked or uploaded on publish)."""
        return self._object.path

    def write(self, chunk: bytes) -> None:
        if self._object.size + len(chunk) > self.max_bytes:
            raise InputTooLargeError(
                f"the input is larger than {self.max_bytes:,} bytes (MAX_UPLOAD_BYTES)"
            )
        try:
            self._object.write(chunk)
        except StoreError as exc:
            raise _unavailable(exc) from exc

    def publish(self) -> JobInput:
        """Write the input under its key, create-only (blocking: fsync or network)."""
        if self._object.size == 0:
            raise InputError(f"{self.name}: the file is empty")
        try:
            self._object.publish()
        except StoreError as exc:
            raise _unavailable(exc) from exc
        return JobInput(
            key=self._object.key, name=self.name, size=self._object.size, sha256=self._object.sha256
        )

    def close(self) -> None:
        self._object.discard()

    def __enter__(self) -> PendingInput:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def store_input(
    store: ObjectStore, settings: Settings, chunks: Iterable[bytes], name: str
) -> JobInput:
    """Write and store one input; nothing is left behind when it fails."""
    with PendingInput(store, settings, name) as pending:
        for chunk in chunks:
            pending.write(chunk)
        return pending.publish()


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
