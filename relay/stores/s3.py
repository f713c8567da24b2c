"""The S3 adapter (boto3). The only production module that talks to boto3.

Writes are create-only (``If-None-Match: *`` on PutObject and CompleteMultipartUpload; boto3's
``upload_file`` cannot send it) and verified by the server against our sha256:
- single PUT: ``ChecksumSHA256`` of the whole object, which the server checks on receipt;
- multipart: ``ChecksumSHA256`` per part (server-checked) while we hash the whole stream; the
  COMPOSITE checksum the server returns is compared with ours, and the whole-object sha256 must
  equal the row's before we complete (else the upload is aborted). SeaweedFS 4.x rejects
  ``ChecksumType=FULL_OBJECT`` with SHA256 at CreateMultipartUpload, so we use COMPOSITE
  everywhere; the whole-object sha256 travels as ``x-amz-meta-sha256``.
boto3's own retries are reduced to a single attempt: the relay's retry policy is what runs.

Payload signing is off (``UNSIGNED-PAYLOAD``), also over plain http where botocore would
otherwise sha256 every body once more for SigV4: every request that carries object bytes also
carries a signed ``x-amz-checksum-sha256`` header that the server checks against the body, so
the body's integrity is still verified, and the bytes are not hashed one extra time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from outbox import crashpoints
from outbox.settings import MAX_PRESIGN_TTL_SECONDS, Settings
from outbox.staging import hash_file
from relay.stores.base import (
    ErrorClass,
    ObjectInfo,
    ObjectStore,
    StoreError,
    UploadRequest,
    UploadResult,
)
from relay.stores.budget import ByteBudget
from relay.stores.files import CHUNK_BYTES
from relay.stores.headers import (
    base64_to_hex,
    build_content_disposition,
    composite_sha256,
    hex_to_base64,
)
from relay.stores.s3_errors import classify_exception, error_code, http_status

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

SHA256_METADATA_KEY = "sha256"
DEFAULT_MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024


def build_client(
    settings: Settings,
    *,
    max_pool_connections: int | None = None,
    endpoint_url: str | None = None,
) -> S3Client:
    """A client for ``endpoint_url`` (default ``S3_ENDPOINT_URL``)."""
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=settings.s3_connect_timeout_seconds,
        read_timeout=settings.s3_read_timeout_seconds,
        signature_version="s3v4",
        max_pool_connections=max_pool_connections or max(10, settings.relay_concurrency * 2),
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"payload_signing_enabled": False},  # see the module docstring
    )
    # A session of its own: credentials are resolved now (boto3's normal chain), not cached
    # in boto3's process-wide default session. The client is shared by the upload threads.
    client: S3Client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or settings.s3_endpoint_url,
        region_name=settings.aws_region,
        config=config,
    )
    return client


class S3Store(ObjectStore):
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        multipart_threshold_bytes: int = 16 * 1024 * 1024,
        multipart_chunk_bytes: int = 16 * 1024 * 1024,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        max_bytes_in_flight: int = DEFAULT_MAX_BYTES_IN_FLIGHT,
        presign_client: S3Client | None = None,
    ) -> None:
        self._client = client
        # Presigning is local (no request): a client for the address browsers use, which may
        # differ from the one this process reaches the store at (S3_PUBLIC_ENDPOINT_URL).
        self._presign_client = presign_client or client
        self._bucket = bucket
        self._threshold = multipart_threshold_bytes
        self._chunk = multipart_chunk_bytes
        self._sse = sse
        self._kms_key = sse_kms_key_id
        # Object bytes being sent at once, across all of the store's uploads: a single PUT
        # reserves its object, a multipart upload each chunk it has read (and holds in memory)
        # until the part is sent. See relay/stores/budget.py.
        self._budget = ByteBudget(max_bytes_in_flight)
        self._part_pool = ThreadPoolExecutor(
            max_workers=max(1, max_bytes_in_flight // multipart_chunk_bytes),
            thread_name_prefix="s3-part",
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        return cls(
            build_client(settings),
            settings.store.bucket,
            multipart_threshold_bytes=settings.relay_multipart_threshold_bytes,
            multipart_chunk_bytes=settings.relay_multipart_chunk_bytes,
            sse=settings.s3_sse,
            sse_kms_key_id=settings.s3_sse_kms_key_id,
            max_bytes_in_flight=settings.relay_max_bytes_in_flight,
            presign_client=(
                build_client(settings, endpoint_url=settings.s3_public_endpoint_url)
                if settings.s3_public_endpoint_url
                else None
            ),
        )

    # --- writing -------------------------------------------------------------------------

    def upload(self, request: UploadRequest) -> UploadResult:
        try:
            if request.size_bytes > self._threshold:
                return self._upload_multipart(request)
            return self._upload_single(request)
        except StoreError:
            raise
        except FileNotFoundError as exc:
            raise StoreError(ErrorClass.MISSING_STAGED_FILE, f"staged file missing: {exc}") from exc
        except Exception as exc:
            raise classify_exception(exc) from exc

    def _object_args(self, request: UploadRequest) -> dict[str, Any]:
        args: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": request.key,
            "ContentType": request.content_type,
            "ContentDisposition": build_content_disposition(request.file_name),
            "Metadata": {**request.metadata, SHA256_METADATA_KEY: request.sha256},
        }
        if self._sse:
            args["ServerSideEncryption"] = self._sse
            if self._sse == "aws:kms" and self._kms_key:
                args["SSEKMSKeyId"] = self._kms_key
        return args

    def _upload_single(self, request: UploadRequest) -> UploadResult:
        with request.path.open("rb") as body, self._budget.reserve(request.size_bytes):
            try:
                response = self._client.put_object(
                    **self._object_args(request),
                    Body=body,
                    ContentLength=request.size_bytes,
                    ChecksumSHA256=hex_to_base64(request.sha256),
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                return self._resolve_write_error(exc, request)
        return UploadResult(request.key, response.get("ETag"), request.size_bytes, created=True)

    def _upload_multipart(self, request: UploadRequest) -> UploadResult:
        # A big object already there (a retry after a crash between upload and flip) is
        # compared without sending it again; the create-only Complete still guards the race.
        if self.head(request.key) is not None:
            return self._compare_existing(request)
        created = self._client.create_multipart_upload(
            **self._object_args(request), ChecksumAlgorithm="SHA256"
        )
        upload_id = created["UploadId"]
        try:
            result = self._send_parts_and_complete(request, upload_id)
        except BaseException:
            self._abort_quietly(request.key, upload_id)
            raise
        if not result.created:  # Complete answered 412: the upload is still open
            self._abort_quietly(request.key, upload_id)
        return result

    def _send_part(
        self, request: UploadRequest, upload_id: str, number: int, chunk: bytes
    ) -> dict[str, Any]:
        checksum = hex_to_base64(hashlib.sha256(chunk).hexdigest())
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=request.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
            ChecksumSHA256=checksum,
        )
        crashpoints.reach(crashpoints.MID_UPLOAD)  # a part is on the server, no object yet
        return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    def _release_part(self, reserved: int, _: Future[dict[str, Any]]) -> None:
        self._budget.release(reserved)

    def _send_parts_and_complete(self, request: UploadRequest, upload_id: str) -> UploadResult:
        """Parts are read in order (hashing the whole stream, unless the file was hashed as it
        was written) and sent on the store's part pool. A chunk is read only once the store's
        byte budget has room for it (given back when the part is sent), so the chunks held in
        memory stay within RELAY_MAX_BYTES_IN_FLIGHT for the whole store, whatever
        RELAY_CONCURRENCY is, and no upload reads ahead of what can be sent."""
        whole = hashlib.sha256()
        pending: deque[Future[dict[str, Any]]] = deque()
        parts: list[dict[str, Any]] = []
        sent = 0
        try:
            with request.path.open("rb") as handle:
                while True:
                    reserved = self._budget.acquire(self._chunk)
                    submitted = False
                    try:
                        chunk = handle.read(self._chunk)
                        if not chunk:
                            break
                        if request.rehash:
                            whole.update(chunk)
                        sent += len(chunk)
                        number = len(parts) + len(pending) + 1
                        future = self._part_pool.submit(
                            self._send_part, request, upload_id, number, chunk
                        )
                        submitted = True  # the reservation is the part's until it is sent
                        future.add_done_callback(partial(self._release_part, reserved))
                        pending.append(future)
                        del chunk
                    finally:
                        if not submitted:
                            self._budget.release(reserved)
                    while pending and pending[0].done():
                        parts.append(pending.popleft().result())
                    for failed in (f for f in pending if f.done() and f.exception()):
                        failed.result()  # a part failed: stop reading, raise it
                while pending:
                    parts.append(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()
        part_digests = [base64.b64decode(part["ChecksumSHA256"]) for part in parts]
        read_sha256 = whole.hexdigest() if request.rehash else request.sha256
        if sent != request.size_bytes or read_sha256 != request.sha256:
            raise StoreError(
                ErrorClass.CHECKSUM_MISMATCH,
                f"staged file changed: read {sent} bytes with sha256 {read_sha256}, "
                f"expected {request.size_bytes} bytes with sha256 {request.sha256}",
            )
        try:
            completed = self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=request.key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                IfNoneMatch="*",
            )
        except ClientError as exc:
            return self._resolve_write_error(exc, request)
        returned = completed.get("ChecksumSHA256")
        if returned and returned != composite_sha256(part_digests):
            raise StoreError(
                ErrorClass.TRANSFER_CORRUPTED,
                f"server composite checksum {returned} differs from ours",
            )
        return UploadResult(request.key, completed.get("ETag"), sent, created=True)

    def _abort_quietly(self, key: str, upload_id: str) -> None:
        # Best effort: a bucket lifecycle rule cleans up what an abort cannot reach.
        with contextlib.suppress(Exception):
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)

    def _resolve_write_error(self, exc: ClientError, request: UploadRequest) -> UploadResult:
        """412: compare with what is there. BadDigest: is it the file or the wire?"""
        code = error_code(exc)
        if http_status(exc) == 412 or code == "PreconditionFailed":
            return self._compare_existing(request)
        if code in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
            actual = hash_file(request.path)
            if actual != request.sha256:
                raise StoreError(
                    ErrorClass.CHECKSUM_MISMATCH,
                    f"staged file's sha256 {actual} no longer matches {request.sha256}",
                ) from exc
        raise classify_exception(exc) from exc

    def _compare_existing(self, request: UploadRequest) -> UploadResult:
        existing = self.head(request.key)
        if existing is None:
            raise StoreError(
                ErrorClass.SERVER_ERROR, f"{request.key}: 412 on create but no object found"
            )
        if existing.sha256 == request.sha256 and existing.size_bytes == request.size_bytes:
            return UploadResult(request.key, existing.etag, 0, created=False)
        raise StoreError(
            ErrorClass.CONFLICT,
            f"{request.key} already holds different bytes "
            f"(sha256 {existing.sha256}, {existing.size_bytes} bytes; "
            f"ours {request.sha256}, {request.size_bytes} bytes)",
        )

    # --- reading -------------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self._client.head_object(
                Bucket=self._bucket, Key=key, ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise classify_exception(exc) from exc
        except Exception as exc:
            raise classify_exception(exc) from exc
        sha256 = response.get("Metadata", {}).get(SHA256_METADATA_KEY)
        if not sha256 and response.get("ChecksumSHA256"):
            sha256 = base64_to_hex(response["ChecksumSHA256"])
        return ObjectInfo(
            key=key,
            size_bytes=int(response["ContentLength"]),
            sha256=sha256.lower() if sha256 else None,
            etag=response.get("ETag"),
        )

    def iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"],
                        size_bytes=int(item["Size"]),
                        sha256=None,
                        etag=item.get("ETag"),
                    )
        except Exception as exc:  # unreachable, timed out, refused: classified like any call
            raise classify_exception(exc) from exc

    def presign_get(self, key: str, ttl_seconds: int) -> str:
        ttl = max(1, min(int(ttl_seconds), MAX_PRESIGN_TTL_SECONDS))
        return self._presign_client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl
        )

    def presign_post(
        self, key: str, *, max_bytes: int, sha256: str, ttl_seconds: int
    ) -> tuple[str, dict[str, str]] | None:
        meta = f"x-amz-meta-{SHA256_METADATA_KEY}"
        post = self._presign_client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={meta: sha256},
            Conditions=[{meta: sha256}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=max(1, min(int(ttl_seconds), MAX_PRESIGN_TTL_SECONDS)),
        )
        return str(post["url"]), {name: str(value) for name, value in post["fields"].items()}

    def read_chunks(self, key: str) -> Iterator[bytes]:
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
            with contextlib.closing(body):
                yield from body.iter_chunks(CHUNK_BYTES)
        except ClientError as exc:
            if http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise StoreError(ErrorClass.CLIENT_ERROR, f"no object {key!r}") from exc
            raise classify_exception(exc) from exc
        except StoreError:
            raise
        except Exception as exc:
            raise classify_exception(exc) from exc

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except Exception as exc:
            raise classify_exception(exc) from exc

    def location_of(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"
