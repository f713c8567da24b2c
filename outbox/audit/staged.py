"""Is a staged file still there with the size and sha256 the database recorded?"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path

_CHUNK = 1024 * 1024


class StagedState(StrEnum):
    OK = "ok"
    MISSING = "missing"
    SIZE_MISMATCH = "size_mismatch"
    SHA256_MISMATCH = "sha256_mismatch"


def hash_file(path: Path) -> str:
    """Lower-case hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_staged_file(path: Path, size_bytes: int, sha256: str) -> StagedState:
    try:
        actual_size = path.stat().st_size
    except FileNotFoundError:
        return StagedState.MISSING
    if actual_size != size_bytes:
        return StagedState.SIZE_MISMATCH
    try:
        actual_sha = hash_file(path)
    except FileNotFoundError:
        return StagedState.MISSING
    return StagedState.OK if actual_sha == sha256.lower() else StagedState.SHA256_MISMATCH
