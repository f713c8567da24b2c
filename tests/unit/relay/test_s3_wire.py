"""What the S3 adapter puts on the wire to a plain-http endpoint (no server: botocore's
``before-send`` hook answers every request and keeps it for inspection).

Object bytes travel with a signed ``x-amz-checksum-sha256`` the server checks, and unsigned
(``UNSIGNED-PAYLOAD``): botocore would otherwise sha256 every body once more for SigV4 over http.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from outbox.settings import Settings
from relay.stores.base import UploadRequest
from relay.stores.s3 import S3Store

BUCKET = "wire-bucket"
MIB = 1024 * 1024


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class _Recorder:
    """Answers each S3 operation with a canned success and records the request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, AWSPreparedRequest, bytes]] = []

    def __call__(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        body: Any = request.body
        if hasattr(body, "read"):
            position = body.tell()
            data = body.read()
            body.seek(position)
        else:
            data = bytes(body or b"")
        self.requests.append((operation, request, data))
        status, payload, headers = 200, b"", {"ETag": '"etag"'}
        if operation == "HeadObject":
            status, headers = 404, {}
        elif operation == "CreateMultipartUpload":
            payload = (
                b"<InitiateMultipartUploadResult><Bucket>wire-bucket</Bucket><Key>k</Key>"
                b"<UploadId>up-1</UploadId></InitiateMultipartUploadResult>"
            )
        elif operation == "CompleteMultipartUpload":
            payload = (
                b"<CompleteMultipartUploadResult><Bucket>wire-bucket</Bucket><Key>k</Key>"
                b'<ETag>"etag-3"</ETag></CompleteMultipartUploadResult>'
            )
        return AWSResponse(request.url, status, headers, _Raw(payload))


PARTS_IN_BUDGET = 4  # the fixture's byte budget holds four 5 MiB parts


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> tuple[S3Store, _Recorder]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wire")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wire")
    settings = Settings.from_env(
        {
            "ARTIFACT_STORE_URL": f"s3://{BUCKET}",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9",  # never reached: the hook answers
            "AWS_REGION": "us-east-1",
            "RELAY_MULTIPART_THRESHOLD_BYTES": str(5 * MIB),
            "RELAY_MULTIPART_CHUNK_BYTES": str(5 * MIB),
            "RELAY_MAX_BYTES_IN_FLIGHT": str(PARTS_IN_BUDGET * 5 * MIB),
        }
    )
    store = S3Store.from_settings(settings)
    recorder = _Recorder()
    store._client.meta.events.register_first("before-send.s3.*", recorder)
    return store, recorder


def _staged(tmp_path: Path, data: bytes) -> UploadRequest:
    path = tmp_path / "staged.bin"
    path.write_bytes(data)
    return UploadRequest(
        key="k",
        path=path,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="application/octet-stream",
        file_name="k.bin",
    )


def _staged_many(tmp_path: Path, sizes: list[int]) -> list[UploadRequest]:
    """One staged file of random bytes per size, keys ``k0``, ``k1``, ..."""
    requests = []
    for index, size in enumerate(sizes):
        data = os.urandom(size)
        path = tmp_path / f"staged-{index}.bin"
        path.write_bytes(data)
        requests.append(
            UploadRequest(
                key=f"k{index}",
                path=path,
                size_bytes=size,
                sha256=hashlib.sha256(data).hexdigest(),
                content_type="application/octet-stream",
                file_name=f"k{index}.bin",
            )
        )
    return requests


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _signed_headers(request: AWSPreparedRequest) -> list[str]:
    value = request.headers["Authorization"]
    authorization = value.decode() if isinstance(value, bytes) else str(value)
    signed = authorization.split("SignedHeaders=", maxsplit=1)[1]
    return signed.split(",", maxsplit=1)[0].split(";")


def test_single_put_is_unsigned_and_carries_the_signed_sha256_checksum(
    wired: tuple[S3Store, _Recorder], tmp_path: Path
) -> None:
    store, recorder = wired
    data = os.urandom(64 * 1024)
    assert store.upload(_staged(tmp_path, data)).created is True
    [(operation, request, sent)] = recorder.requests
    assert operation == "PutObject"
    assert sent == data
    assert request.headers["X-Amz-Content-SHA256"] == b"UNSIGNED-PAYLOAD"
    assert request.headers["x-amz-checksum-sha256"] == _b64_sha256(data).encode()
    assert request.headers["If-None-Match"] == b"*"
    assert "x-amz-checksum-sha256" in _signed_headers(request)
    assert "crc32" not in " ".join(str(name).lower() for name in request.headers)


def test_parts_are_unsigned_and_each_carries_its_signed_sha256_checksum(
    wired: tuple[S3Store, _Recorder], tmp_path: Path
) -> None:
    store, recorder = wired
    data = os.urandom(11 * MIB)
    assert store.upload(_staged(tmp_path, data)).created is True
    operations = [operation for operation, _, _ in recorder.requests]
    assert operations == [
        "HeadObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]
    parts = sorted(
        (request for operation, request, _ in recorder.requests if operation == "UploadPart"),
        key=lambda request: request.url,
    )
    sent = {request.url: body for _, request, body in recorder.requests}
    assert b"".join(sent[request.url] for request in parts) == data
    for request in parts:
        body = sent[request.url]
        assert request.headers["X-Amz-Content-SHA256"] == b"UNSIGNED-PAYLOAD"
        assert request.headers["x-amz-checksum-sha256"] == _b64_sha256(body).encode()
        assert "x-amz-checksum-sha256" in _signed_headers(request)


def test_parts_held_in_memory_are_bounded_across_concurrent_uploads(
    wired: tuple[S3Store, _Recorder], tmp_path: Path
) -> None:
    """Chunks read but not yet sent never exceed the store's byte budget, even
    with several multipart uploads at once (each part is held back a little on the wire so
    that an upload able to read ahead would do so)."""
    store, recorder = wired
    pool = store._part_pool
    lock = threading.Lock()
    outstanding = 0
    most = 0

    def finished(_: Future[Any]) -> None:
        nonlocal outstanding
        with lock:
            outstanding -= 1

    def counting_submit(fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        nonlocal outstanding, most
        with lock:
            outstanding += 1
            most = max(most, outstanding)
        future = pool.submit(fn, *args, **kwargs)
        future.add_done_callback(finished)
        return future

    def slow_recorder(request: AWSPreparedRequest, event_name: str, **kwargs: Any) -> Any:
        if event_name.endswith("UploadPart"):
            time.sleep(0.05)
        return recorder(request, event_name, **kwargs)

    store._client.meta.events.unregister("before-send.s3.*", recorder)
    store._client.meta.events.register_first("before-send.s3.*", slow_recorder)
    store._part_pool = SimpleNamespace(submit=counting_submit)  # type: ignore[assignment]
    requests = _staged_many(tmp_path, [11 * MIB] * 3)
    with ThreadPoolExecutor(max_workers=3) as uploads:
        results = list(uploads.map(store.upload, requests))
    assert [result.created for result in results] == [True, True, True]
    parts = [operation for operation, _, _ in recorder.requests if operation == "UploadPart"]
    assert len(parts) == 9
    assert 1 <= most <= PARTS_IN_BUDGET
    assert outstanding == 0


def test_single_puts_together_stay_within_the_byte_budget(
    wired: tuple[S3Store, _Recorder], tmp_path: Path
) -> None:
    """Three 12 MiB objects sent as single PUTs from three threads with a 20 MiB budget: at
    most one is on the wire at a time (two would be 24 MiB); 1 KiB objects are not held back
    by each other."""
    wired_store, recorder = wired
    store = S3Store(
        wired_store._client,
        BUCKET,
        multipart_threshold_bytes=100 * MIB,
        multipart_chunk_bytes=5 * MIB,
        max_bytes_in_flight=20 * MIB,
    )
    lock = threading.Lock()
    on_wire = 0
    most_by_size: dict[int, int] = {}

    def slow_recorder(request: AWSPreparedRequest, event_name: str, **kwargs: Any) -> Any:
        nonlocal on_wire
        size = int(request.headers["Content-Length"])
        with lock:
            on_wire += 1
            most_by_size[size] = max(most_by_size.get(size, 0), on_wire)
        time.sleep(0.05)
        with lock:
            on_wire -= 1
        return recorder(request, event_name, **kwargs)

    store._client.meta.events.unregister("before-send.s3.*", recorder)
    store._client.meta.events.register_first("before-send.s3.*", slow_recorder)
    requests = _staged_many(tmp_path, [12 * MIB] * 3 + [1024] * 3)
    with ThreadPoolExecutor(max_workers=3) as uploads:
        big = list(uploads.map(store.upload, requests[:3]))
        small = list(uploads.map(store.upload, requests[3:]))
    assert [r.created for r in big + small] == [True] * 6
    assert most_by_size[12 * MIB] == 1
    assert most_by_size[1024] == 3
    assert store._budget.in_use == 0
