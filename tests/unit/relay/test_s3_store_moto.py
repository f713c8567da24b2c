"""The S3 adapter against moto's in-process S3 (no server): create-only semantics, multipart,
checksums, and how HTTP failures injected into botocore are classified."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from outbox.settings import Settings, SettingsError
from relay.stores.base import ErrorClass, StoreError, UploadRequest
from relay.stores.s3 import S3Store

BUCKET = "moto-bucket"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto")
    with mock_aws():
        settings = Settings.from_env(
            {
                "ARTIFACT_STORE_URL": f"s3://{BUCKET}/pre",
                "AWS_REGION": "us-east-1",
                "RELAY_MULTIPART_THRESHOLD_BYTES": str(5 * 1024 * 1024),
                "RELAY_MULTIPART_CHUNK_BYTES": str(5 * 1024 * 1024),
            }
        )
        s3 = S3Store.from_settings(settings)
        s3._client.create_bucket(Bucket=BUCKET)
        yield s3


def staged(tmp_path: Path, data: bytes, key: str = "pre/k.csv") -> UploadRequest:
    path = tmp_path / "staged.csv"
    path.write_bytes(data)
    return UploadRequest(
        key=key,
        path=path,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="text/csv",
        file_name="k.csv",
    )


def test_create_then_same_bytes_then_conflict(store: S3Store, tmp_path: Path) -> None:
    request = staged(tmp_path, b"a,b\n1,2\n")
    assert store.upload(request).created is True
    assert store.upload(request).created is False
    other = staged(tmp_path, b"a,b\n9,9\n")
    with pytest.raises(StoreError) as caught:
        store.upload(other)
    assert caught.value.error_class is ErrorClass.CONFLICT
    info = store.head("pre/k.csv")
    assert info is not None
    assert info.sha256 == request.sha256


def test_multipart_upload_is_created_once_and_verified(store: S3Store, tmp_path: Path) -> None:
    request = staged(tmp_path, os.urandom(11 * 1024 * 1024), key="pre/big.csv")
    result = store.upload(request)
    assert result.created is True
    assert result.etag is not None
    assert result.etag.endswith('-3"')  # three 5 MiB parts
    info = store.head("pre/big.csv")
    assert info is not None
    assert (info.size_bytes, info.sha256) == (request.size_bytes, request.sha256)
    assert store.upload(request).created is False
    uploads = store._client.list_multipart_uploads(Bucket=BUCKET)
    assert uploads.get("Uploads", []) == []


def test_location_and_key_of_are_inverse(store: S3Store) -> None:
    location = store.location_of("pre/x/y.csv")
    assert location == f"s3://{BUCKET}/pre/x/y.csv"
    assert store.key_of(location) == "pre/x/y.csv"
    assert store.key_of("s3://elsewhere/pre/x/y.csv") is None


def test_presign_ttl_is_capped_at_seven_days(store: S3Store) -> None:
    url = store.presign_get("pre/k.csv", 30 * 24 * 3600)
    assert "X-Amz-Expires=604800" in url
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url


def test_presigned_urls_name_the_public_endpoint_and_requests_the_private_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    settings = Settings.from_env(
        {
            "ARTIFACT_STORE_URL": f"s3://{BUCKET}/pre",
            "AWS_REGION": "us-east-1",
            "S3_ENDPOINT_URL": "http://seaweedfs:8333",
            "S3_PUBLIC_ENDPOINT_URL": "https://files.example.com",
        }
    )
    store = S3Store.from_settings(settings)
    assert store.presign_get("pre/k.csv", 60).startswith("https://files.example.com/")
    posted = store.presign_post("pre/k.csv", max_bytes=10, sha256="0" * 64, ttl_seconds=60)
    assert posted is not None
    assert posted[0].startswith("https://files.example.com/")
    assert store._client.meta.endpoint_url == "http://seaweedfs:8333"

    without = S3Store.from_settings(dataclasses.replace(settings, s3_public_endpoint_url=None))
    assert without.presign_get("pre/k.csv", 60).startswith("http://seaweedfs:8333/")


def test_a_public_endpoint_with_credentials_is_refused() -> None:
    with pytest.raises(SettingsError, match="S3_PUBLIC_ENDPOINT_URL"):
        Settings.from_env({"S3_PUBLIC_ENDPOINT_URL": "https://key:secret@files.example.com"})


def _inject(store: S3Store, status: int, body: bytes, headers: dict[str, str]) -> None:
    def respond(**_: Any) -> AWSResponse:
        return AWSResponse("http://moto", status, headers, _Raw(body))

    store._client.meta.events.register_first("before-send.s3.PutObject", respond)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error_xml(code: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()


def test_slow_down_is_throttled_and_keeps_retry_after(store: S3Store, tmp_path: Path) -> None:
    _inject(store, 503, _error_xml("SlowDown"), {"Retry-After": "12"})
    with pytest.raises(StoreError) as caught:
        store.upload(staged(tmp_path, b"x"))
    assert caught.value.error_class is ErrorClass.THROTTLED
    assert caught.value.retryable
    assert caught.value.retry_after == 12.0


def test_access_denied_is_terminal(store: S3Store, tmp_path: Path) -> None:
    _inject(store, 403, _error_xml("AccessDenied"), {})
    with pytest.raises(StoreError) as caught:
        store.upload(staged(tmp_path, b"x"))
    assert caught.value.error_class is ErrorClass.ACCESS_DENIED
    assert not caught.value.retryable


def test_bad_digest_with_intact_file_is_a_retryable_transfer_error(
    store: S3Store, tmp_path: Path
) -> None:
    _inject(store, 400, _error_xml("BadDigest"), {})
    with pytest.raises(StoreError) as caught:
        store.upload(staged(tmp_path, b"x"))
    assert caught.value.error_class is ErrorClass.TRANSFER_CORRUPTED
    assert caught.value.retryable


def test_bad_digest_with_changed_file_is_a_terminal_checksum_mismatch(
    store: S3Store, tmp_path: Path
) -> None:
    request = staged(tmp_path, b"original")
    request.path.write_bytes(b"changed!")  # same size, other bytes
    _inject(store, 400, _error_xml("BadDigest"), {})
    with pytest.raises(StoreError) as caught:
        store.upload(request)
    assert caught.value.error_class is ErrorClass.CHECKSUM_MISMATCH


def test_multipart_losing_the_create_race_is_aborted(
    store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = staged(tmp_path, os.urandom(6 * 1024 * 1024), key="pre/race.csv")
    store._client.put_object(  # another writer got there between our HEAD and Complete
        Bucket=BUCKET,
        Key="pre/race.csv",
        Body=request.path.read_bytes(),
        Metadata={"sha256": request.sha256},
    )
    real_head = store.head
    calls: list[str] = []

    def head_missing_once(key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real_head(key)

    monkeypatch.setattr(store, "head", head_missing_once)
    result = store.upload(request)
    assert result.created is False  # 412 on Complete, same bytes
    assert len(calls) == 2
    uploads = store._client.list_multipart_uploads(Bucket=BUCKET)
    assert uploads.get("Uploads", []) == []
