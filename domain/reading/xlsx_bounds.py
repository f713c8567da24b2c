"""Check a workbook's parts against the documented bounds before any reader opens it.

Every part is decompressed once, in chunks (constant memory), and measured: its real size
(not the size the archive claims), its ratio of decompressed to compressed bytes, and its
longest run of bytes without a ``<`` (the longest text, attribute or whitespace run: what an
XML reader must hold in one piece). The first bound crossed stops the check.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from domain.errors import InputError
from domain.reading.limits import (
    MAX_CELL_BYTES,
    SHARED_STRINGS_PART,
    XLSX_MAX_PART_BYTES,
    XLSX_MAX_RATIO,
    XLSX_MAX_SHARED_STRINGS_BYTES,
    XLSX_MAX_TOTAL_BYTES,
    XLSX_RATIO_FLOOR_BYTES,
)

_READ_BYTES = 256 << 10  # at most MAX_CELL_BYTES / 2: a longer run spans a whole chunk


class WorkbookTooLargeError(InputError):
    """A workbook part decompresses beyond a documented bound."""


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB"


def check_workbook_parts(path: Path, name: str, max_text_run: int = MAX_CELL_BYTES) -> None:
    """Raise WorkbookTooLargeError (one line) when a part of the workbook at ``path`` crosses a
    bound; zip damage is left to the readers, which report it."""
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                total += _check_part(
                    archive, info, name, max_text_run, XLSX_MAX_TOTAL_BYTES - total
                )
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ):
        return  # the readers report damage in their own one-line errors


def _check_part(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, max_text_run: int, room: int
) -> int:
    limit = (
        XLSX_MAX_SHARED_STRINGS_BYTES
        if info.filename == SHARED_STRINGS_PART
        else XLSX_MAX_PART_BYTES
    )
    limit = min(limit, room)
    part = info.filename
    if info.file_size > limit:
        raise _too_large(name, part, info.file_size, limit)
    size = 0
    run = 0  # bytes since the last "<"
    with archive.open(info) as stream:
        while chunk := stream.read(_READ_BYTES):
            size += len(chunk)
            first = chunk.find(b"<")
            if first < 0:
                run += len(chunk)
            else:
                run += first
                if run > max_text_run:
                    break
                run = len(chunk) - chunk.rfind(b"<") - 1
            if run > max_text_run:
                break
            if size > limit:
                raise _too_large(name, part, size, limit)
            if size > XLSX_RATIO_FLOOR_BYTES and size > XLSX_MAX_RATIO * max(1, info.compress_size):
                raise WorkbookTooLargeError(
                    f"{name}: the workbook part {part} decompresses to more than "
                    f"{XLSX_MAX_RATIO} times its compressed size (a decompression bomb?)"
                )
    if run > max_text_run:
        raise WorkbookTooLargeError(
            f"{name}: the workbook part {part} holds a text or whitespace run longer than "
            f"{_mib(max_text_run)} (the cell limit)"
        )
    return size


def _too_large(name: str, part: str, size: int, limit: int) -> WorkbookTooLargeError:
    return WorkbookTooLargeError(
        f"{name}: the workbook part {part} decompresses to more than {_mib(limit)} "
        f"({_mib(size)} at least)"
    )
