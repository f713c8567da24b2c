"""One contract, every adapter: S3 (on a real SeaweedFS) and the local directory store."""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relay.stores.base import ErrorClass, ObjectStore, PendingObject, StoreError, UploadRequest
from relay.stores.local import LocalStore
from relay.stores.s3 import S3Store


@pytest.fixture(params=[pytest.param("s3", marks=pytest.mark.s3), "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "s3":
        s3: S3Store = request.getfixturevalue("s3_store")
        return s3
    return LocalStore(tmp_path / "objects")


def stage(tmp_path: Path, name: str, data: bytes) -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def request_for(
    key: str, path: Path, sha: str, file_name: str = "cleaned data.csv"
) -> UploadRequest:
    return UploadRequest(
        key=key,
        path=path,
        size_bytes=path.stat().st_size,
        sha256=sha,
        content_type="text/csv; charset=utf-8",
        file_name=file_name,
        metadata={"analysis-id": "a1", "tool": "clean-my-data", "env": "test"},
    )


def test_upload_creates_object_with_size_and_sha(store: ObjectStore, tmp_path: Path) -> None:
    path, sha = stage(tmp_path, "a.csv", b"id,name\n1,x\n")
    result = store.upload(request_for("dev/t/a1/1_a.csv", path, sha))
    assert result.created is True
    assert result.bytes_sent == 12
    info = store.head("dev/t/a1/1_a.csv")
    assert info is not None
    assert (info.size_bytes, info.sha256) == (12, sha)


def test_same_bytes_again_is_success_not_created(store: ObjectStore, tmp_path: Path) -> None:
    path, sha = stage(tmp_path, "a.csv", b"same bytes")
    store.upload(request_for("k/same.csv", path, sha))
    again = store.upload(request_for("k/same.csv", path, sha))
    assert again.created is False
    assert again.bytes_sent == 0


def test_different_bytes_under_existing_key_is_terminal_conflict(
    store: ObjectStore, tmp_path: Path
) -> None:
    first, sha1 = stage(tmp_path, "1.csv", b"first version")
    second, sha2 = stage(tmp_path, "2.csv", b"second version")
    store.upload(request_for("k/conflict.csv", first, sha1))
    with pytest.raises(StoreError) as caught:
        store.upload(request_for("k/conflict.csv", second, sha2))
    assert caught.value.error_class is ErrorClass.CONFLICT
    assert not caught.value.retryable
    info = store.head("k/conflict.csv")
    assert info is not None
    assert info.sha256 == sha1  # never overwritten


def test_staged_file_not_matching_its_sha_is_checksum_mismatch(
    store: ObjectStore, tmp_path: Path
) -> None:
    path, _ = stage(tmp_path, "a.csv", b"tampered after staging")
    wrong = hashlib.sha256(b"what was staged").hexdigest()
    with pytest.raises(StoreError) as caught:
        store.upload(request_for("k/tampered.csv", path, wrong))
    assert caught.value.error_class is ErrorClass.CHECKSUM_MISMATCH
    assert store.head("k/tampered.csv") is None


def test_missing_staged_file_is_terminal(store: ObjectStore, tmp_path: Path) -> None:
    request = UploadRequest(
        key="k/missing.csv",
        path=tmp_path / "gone.csv",
        size_bytes=3,
        sha256=hashlib.sha256(b"abc").hexdigest(),
        content_type="text/csv",
        file_name="gone.csv",
    )
    with pytest.raises(StoreError) as caught:
        store.upload(request)
    assert caught.value.error_class is ErrorClass.MISSING_STAGED_FILE


def test_multipart_upload_above_threshold(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(11 * 1024 * 1024 + 17)  # three 5 MiB parts on S3
    path, sha = stage(tmp_path, "big.csv", data)
    result = store.upload(request_for("k/big.csv", path, sha))
    assert result.created is True
    info = store.head("k/big.csv")
    assert info is not None
    assert (info.size_bytes, info.sha256) == (len(data), sha)
    assert store.upload(request_for("k/big.csv", path, sha)).created is False


def test_multipart_with_changed_file_is_aborted_and_nothing_written(
    store: ObjectStore, tmp_path: Path
) -> None:
    path, _ = stage(tmp_path, "big.csv", os.urandom(6 * 1024 * 1024))
    with pytest.raises(StoreError) as caught:
        store.upload(request_for("k/big-bad.csv", path, "0" * 64))
    assert caught.value.error_class is ErrorClass.CHECKSUM_MISMATCH
    assert store.head("k/big-bad.csv") is None


def _write_object(store: ObjectStore, key: str, data: bytes, spool: Path) -> PendingObject:
    pending = store.open_object(request_for(key, spool.parent, ""), spool)
    for start in range(0, len(data), 65536):
        pending.write(data[start : start + 65536])
    return pending


def _files_under(*places: Path) -> list[Path]:
    return [p for place in places if place.exists() for p in place.rglob("*") if p.is_file()]


def test_an_object_written_in_chunks_is_published_create_only(
    store: ObjectStore, tmp_path: Path
) -> None:
    data = os.urandom(11 * 1024 * 1024 + 17)  # three 5 MiB parts on S3
    spool = tmp_path / "spool"
    with _write_object(store, "k/written.csv", data, spool) as pending:
        assert store.head("k/written.csv") is None  # nothing under the key before publish
        result = pending.publish()
    assert (result.created, result.bytes_sent) == (True, len(data))
    info = store.head("k/written.csv")
    assert info is not None
    assert (info.size_bytes, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert b"".join(store.read_chunks("k/written.csv")) == data
    with _write_object(store, "k/written.csv", data, spool) as again:
        assert again.publish().created is False
    other = _write_object(store, "k/written.csv", b"other bytes", spool)
    with other, pytest.raises(StoreError) as caught:
        other.publish()
    assert caught.value.error_class is ErrorClass.CONFLICT
    assert [o.key for o in store.iter_objects("k/")] == ["k/written.csv"]
    assert _files_under(spool) == []
    if isinstance(store, LocalStore):  # no temporary file is left next to the object
        assert sorted(p.name for p in _files_under(tmp_path / "objects")) == [
            "written.csv",
            "written.csv.sha256",
        ]


def test_an_object_never_published_leaves_nothing(store: ObjectStore, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with _write_object(store, "k/dropped.csv", os.urandom(300_000), spool) as pending:
        assert pending.path.exists()
    assert store.head("k/dropped.csv") is None
    assert list(store.iter_objects("k/")) == []
    assert _files_under(spool, tmp_path / "objects") == []


def test_writes_abandoned_by_a_killed_writer_are_removed(
    store: ObjectStore, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    abandoned = _write_object(store, "k/abandoned.csv", b"a,b\n", spool)  # never closed
    fresh = _write_object(store, "k/fresh.csv", b"a,b\n", spool)
    os.utime(abandoned.path, (0, 0))
    cutoff = datetime.now(UTC) - timedelta(hours=1)
    assert store.remove_abandoned_writes("k/", spool, cutoff) == 1
    assert not abandoned.path.exists()
    assert fresh.path.exists()
    fresh.discard()
    abandoned.discard()


def test_iter_objects_lists_every_key_under_prefix(store: ObjectStore, tmp_path: Path) -> None:
    for index in range(3):
        path, sha = stage(tmp_path, f"{index}.csv", f"row {index}".encode())
        store.upload(request_for(f"p/x/{index}.csv", path, sha))
    path, sha = stage(tmp_path, "other.csv", b"other")
    store.upload(request_for("q/other.csv", path, sha))
    listed = sorted((info.key, info.size_bytes) for info in store.iter_objects("p/"))
    assert listed == [("p/x/0.csv", 5), ("p/x/1.csv", 5), ("p/x/2.csv", 5)]


def test_delete_removes_object(store: ObjectStore, tmp_path: Path) -> None:
    path, sha = stage(tmp_path, "a.csv", b"bye")
    store.upload(request_for("k/bye.csv", path, sha))
    store.delete("k/bye.csv")
    assert store.head("k/bye.csv") is None


@pytest.mark.s3
def test_s3_object_has_metadata_type_and_disposition(s3_store: S3Store, tmp_path: Path) -> None:
    path, sha = stage(tmp_path, "a.csv", b"x,y\n")
    s3_store.upload(request_for("k/meta.csv", path, sha, file_name="café report.csv"))
    head = s3_store._client.head_object(Bucket=s3_store._bucket, Key="k/meta.csv")
    assert head["Metadata"] == {
        "sha256": sha,
        "analysis-id": "a1",
        "tool": "clean-my-data",
        "env": "test",
    }
    assert head["ContentType"].startswith("text/csv")
    assert head["ContentDisposition"] == (
        "attachment; filename=\"caf_ report.csv\"; filename*=UTF-8''caf%C3%A9%20report.csv"
    )
    assert s3_store.location_of("k/meta.csv") == f"s3://{s3_store._bucket}/k/meta.csv"


@pytest.mark.s3
def test_s3_presigned_url_serves_exact_bytes_then_expires(
    s3_store: S3Store, tmp_path: Path
) -> None:
    data = os.urandom(4096)
    path, sha = stage(tmp_path, "a.bin", data)
    s3_store.upload(request_for("k/presign.csv", path, sha))
    url = s3_store.presign_get("k/presign.csv", 2)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
    time.sleep(3.5)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    assert caught.value.code == 403


@pytest.mark.s3
def test_s3_objects_are_private(s3_store: S3Store, s3_server: object, tmp_path: Path) -> None:
    path, sha = stage(tmp_path, "a.csv", b"secret")
    s3_store.upload(request_for("k/private.csv", path, sha))
    plain = s3_store.location_of("k/private.csv").replace("s3://", "")
    endpoint = s3_store._client.meta.endpoint_url
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{endpoint}/{plain}", timeout=10)
    assert caught.value.code in (401, 403)
