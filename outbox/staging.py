"""The staging sink: artifacts go to ``STAGING_DIR`` on local disk, never whole into memory.

Each artifact is written to a temporary file (``.tmp-*`` in the staging directory) while its
size and sha256 are computed; then the file is fsynced, atomically renamed to its final name and
the directory is fsynced. The final name is unique per run (``{download_id}.{run}.{ext}``), so a
run never touches a file that an earlier, committed run still needs; whatever a failed run staged
can be removed without looking at anyone else.

One staging directory serves one ``STAGING_VOLUME_ID``: the relay (the process that deletes staged
files) writes the marker file ``.staging-volume`` naming its volume when the directory has none;
a relay or a transformer with another volume id is refused with a one-line error (two volume ids
on one directory would each sweep the other's files).

Disk full, permission denied or a missing directory become a one-line :class:`StagingError` and
leave nothing behind. ``STAGING_DIR`` must exist, except the built-in default ``var/staging``,
which is created (a configured directory is usually a mounted volume: creating it silently on
the wrong disk would hide a deployment mistake).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Final

import structlog

from domain.artifacts import ArtifactSink, ArtifactSpec, WriteFn, WrittenArtifact
from domain.errors import UserFacingError
from domain.model import TOOL_NAME
from outbox.keys import build_object_key, build_s3_path
from outbox.settings import Settings

TEMP_PREFIX: Final = ".tmp-"
VOLUME_MARKER: Final = ".staging-volume"
KEY_DISCRIMINATOR_LENGTH: Final = 12
_DEFAULT_STAGING_DIR: Final = Settings.staging_dir

log = structlog.get_logger()


class StagingError(UserFacingError):
    """An artifact could not be staged (disk full, permission denied, missing directory)."""


def _describe_os_error(exc: OSError, where: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"no space left on the staging volume ({where})"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded on the staging volume ({where})"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied writing to the staging directory {where}"
    if exc.errno == errno.ENOENT:
        return f"the staging directory {where} does not exist"
    return f"cannot write to the staging directory {where}: {exc.strerror or exc}"


class _HashingWriter:
    """A write-only binary stream that hashes and counts what passes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self._raw.write(view)
        self.size += view.nbytes
        return view.nbytes

    def flush(self) -> None:
        self._raw.flush()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def close(self) -> None:  # generators must not close our file; the sink closes it
        return None

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_marker(marker: Path) -> str:
    return marker.read_text(encoding="utf-8", errors="replace").strip()


def check_staging_volume(directory: Path, volume_id: str) -> None:
    """Raise StagingError when the directory's marker names another volume (no marker: fine)."""
    marker = directory / VOLUME_MARKER
    try:
        owner = _read_marker(marker)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StagingError(_describe_os_error(exc, directory)) from None
    if owner != volume_id:
        raise StagingError(
            f"the staging directory {directory} belongs to volume {owner!r} ({VOLUME_MARKER}); "
            f"this process has STAGING_VOLUME_ID={volume_id!r}: give each volume id its own "
            "staging directory"
        )


def claim_staging_volume(directory: Path, volume_id: str) -> None:
    """Write the volume marker if the directory has none (atomically: a complete file is linked
    into place, so a concurrent reader never sees it half-written); raise StagingError when the
    directory belongs to another volume."""
    marker = directory / VOLUME_MARKER
    if not marker.exists():
        temp = directory / f"{TEMP_PREFIX}volume-{uuid.uuid4().hex}"
        try:
            temp.write_text(volume_id + "\n", encoding="utf-8")
            with contextlib.suppress(FileExistsError):
                os.link(temp, marker)
                fsync_directory(directory)
                log.info("staging_volume_claimed", directory=str(directory), volume=volume_id)
        except OSError as exc:
            raise StagingError(_describe_os_error(exc, directory)) from None
        finally:
            _unlink_quietly(temp)
    check_staging_volume(directory, volume_id)


def resolve_staging_dir(settings: Settings) -> Path:
    """The staging directory as an absolute path, checked against the volume marker (see the
    module docstring); created only when it is the default."""
    directory = settings.staging_dir
    if not directory.is_dir():
        if directory == _DEFAULT_STAGING_DIR:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StagingError(_describe_os_error(exc, directory)) from None
        else:
            raise StagingError(f"the staging directory {directory} does not exist (STAGING_DIR)")
    resolved = directory.resolve()
    check_staging_volume(resolved, settings.staging_volume_id)
    return resolved


class StagingSink(ArtifactSink):
    """Stages the artifacts of one analysis run (see the module docstring)."""

    def __init__(self, settings: Settings, analysis_id: str, timestamp: datetime | str) -> None:
        self._settings = settings
        self._analysis_id = analysis_id
        self._timestamp = timestamp
        self._run = uuid.uuid4().hex[:12]
        self._directory: Path | None = None
        self.staged: list[WrittenArtifact] = []

    @property
    def directory(self) -> Path:
        if self._directory is None:
            self._directory = resolve_staging_dir(self._settings)
        return self._directory

    def _final_name(self, spec: ArtifactSpec) -> str:
        return f"{spec.download_id}.{self._run}.{spec.format.value}"

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        directory = self.directory
        temp = directory / f"{TEMP_PREFIX}{spec.download_id}.{uuid.uuid4().hex}"
        final = directory / self._final_name(spec)
        try:
            with open(temp, "xb") as raw:
                writer = _HashingWriter(raw)
                write(writer)  # type: ignore[arg-type]  # a write-only BinaryIO
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(temp, final)
            fsync_directory(directory)
        except OSError as exc:
            _unlink_quietly(temp)
            _unlink_quietly(final)
            log.warning("artifact_staging_failed", file_name=spec.file_name, error=str(exc))
            raise StagingError(_describe_os_error(exc, directory)) from None
        except BaseException:
            _unlink_quietly(temp)
            _unlink_quietly(final)
            raise
        sha256 = writer.digest.hexdigest()
        key = build_object_key(
            self._settings.store.prefix,
            self._settings.app_env,
            TOOL_NAME,
            self._analysis_id,
            self._timestamp,
            spec.file_name,
            discriminator=sha256[:KEY_DISCRIMINATOR_LENGTH],
        )
        written = WrittenArtifact(
            spec=spec,
            size_bytes=writer.size,
            sha256=sha256,
            staged_path=final.name,
            object_key=key,
            s3_path=build_s3_path(self._settings.store, key),
            content=None,
        )
        self.staged.append(written)
        log.info(
            "artifact_staged",
            analysis_id=self._analysis_id,
            download_id=spec.download_id,
            staged_path=written.staged_path,
            size_bytes=written.size_bytes,
        )
        return written

    def discard(self) -> None:
        """Remove everything this sink staged (bad input after some artifacts were written)."""
        remove_staged(self._settings, (w.staged_path for w in self.staged if w.staged_path))
        self.staged.clear()


def _unlink_quietly(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("staged_file_not_removed", path=str(path), error=str(exc))
        return False
    return True


def hash_file(path: Path) -> str:
    """Lower-case hex sha256 of a file (``hashlib.file_digest``: streamed, never whole)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def staged_file_path(settings: Settings, staged_path: str) -> Path:
    """The absolute path of a staged file; refuses anything outside the staging directory."""
    if not staged_path or "/" in staged_path or "\\" in staged_path or staged_path in (".", ".."):
        raise ValueError(f"not a staged file name: {staged_path!r}")
    return settings.staging_dir.resolve() / staged_path


def remove_staged(settings: Settings, staged_paths: Iterable[str]) -> list[str]:
    """Remove staged files (best effort, logged); returns the names actually removed."""
    removed: list[str] = []
    for name in staged_paths:
        if _unlink_quietly(staged_file_path(settings, name)):
            removed.append(name)
    if removed:
        with contextlib.suppress(OSError):
            fsync_directory(settings.staging_dir.resolve())
        log.info("staged_files_removed", count=len(removed), staged_paths=removed)
    return removed
