"""A local store whose layout is in the way (a file where a key needs a folder) fails the upload
as a conflict, which is not retried: trying again changes nothing until someone moves the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from relay.stores.base import ErrorClass, StoreError, UploadRequest
from relay.stores.local import LocalStore


def _request(tmp_path: Path, key: str) -> UploadRequest:
    staged = tmp_path / "staged.csv"
    staged.write_bytes(b"a,b\n1,2\n")
    return UploadRequest(
        key=key,
        path=staged,
        size_bytes=staged.stat().st_size,
        sha256=hashlib.sha256(staged.read_bytes()).hexdigest(),
        content_type="text/csv; charset=utf-8",
        file_name="cleaned.csv",
        metadata={},
    )


def test_a_file_where_a_folder_belongs_is_a_conflict_not_retried(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    (root / "pre").mkdir(parents=True)
    (root / "pre" / "analysis").write_bytes(b"in the way")
    store = LocalStore(root)
    with pytest.raises(StoreError) as raised:
        store.upload(_request(tmp_path, "pre/analysis/cleaned.csv"))
    assert raised.value.error_class is ErrorClass.CONFLICT
    assert not raised.value.error_class.retryable
    assert "in the way" in str(raised.value)


def test_a_store_root_that_is_a_file_is_a_conflict(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    root.write_bytes(b"not a folder")
    with pytest.raises(StoreError) as raised:
        LocalStore(root).upload(_request(tmp_path, "pre/cleaned.csv"))
    assert raised.value.error_class is ErrorClass.CONFLICT
