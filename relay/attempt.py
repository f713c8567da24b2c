"""One upload attempt: staged file -> object store, classified into an :class:`AttemptReport`.

No database access here; :mod:`relay.flip` records the report.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from outbox.clock import utcnow
from outbox.settings import Settings
from outbox.staging import staged_file_path
from outbox.tables import OUTCOME_ALREADY_PRESENT, OUTCOME_FAILED, OUTCOME_RETRY, OUTCOME_UPLOADED
from relay.backoff import compute_retry_delay
from relay.records import AttemptReport, ClaimedRecord
from relay.stores.base import ErrorClass, ObjectStore, StoreError, UploadRequest

_METADATA_FIELDS = (("analysis-id", "analysis_id"), ("tool", "tool"), ("env", "env"))


def build_upload_request(record: ClaimedRecord, settings: Settings) -> UploadRequest:
    """The store request for a claimed row; raises StoreError when the staged file is unusable."""
    payload = record.payload
    try:
        path = staged_file_path(settings, str(payload.get("staged_path") or ""))
    except ValueError as exc:
        raise StoreError(ErrorClass.MISSING_STAGED_FILE, str(exc)) from exc
    try:
        actual_size = path.stat().st_size
    except FileNotFoundError:
        raise StoreError(
            ErrorClass.MISSING_STAGED_FILE, f"staged file {path.name} is missing"
        ) from None
    if actual_size != record.size_bytes:
        raise StoreError(
            ErrorClass.CHECKSUM_MISMATCH,
            f"staged file {path.name} has {actual_size} bytes, the record says {record.size_bytes}",
        )
    metadata = {
        header: str(payload[name]) for header, name in _METADATA_FIELDS if payload.get(name)
    }
    return UploadRequest(
        key=record.object_key,
        path=path,
        size_bytes=record.size_bytes,
        sha256=str(payload["sha256"]).lower(),
        content_type=str(payload.get("content_type") or "application/octet-stream"),
        file_name=str(payload.get("file_name") or path.name),
        metadata=metadata,
    )


def check_recorded_path(record: ClaimedRecord, store: ObjectStore) -> None:
    """The row's s3_path is the contract: raise StoreError(STORE_MISMATCH) unless this store
    writes exactly that path for the record's key."""
    recorded = str(record.payload.get("s3_path") or "")
    if store.location_of(record.object_key) != recorded:
        raise StoreError(
            ErrorClass.STORE_MISMATCH,
            f"the record's path {recorded} is not in this relay's store "
            f"{store.root_location()} (ARTIFACT_STORE_URL): run the relay with the store the "
            "transformer wrote to, then requeue; the staged file is kept",
        )


def _failure(
    record: ClaimedRecord,
    error: StoreError,
    settings: Settings,
    started_at: datetime,
    started: float,
) -> AttemptReport:
    duration_ms = int((time.monotonic() - started) * 1000)
    message = str(error)[:2000]
    if error.retryable and record.attempt < settings.relay_max_attempts:
        delay = compute_retry_delay(
            record.attempt,
            base_seconds=settings.relay_backoff_base_seconds,
            max_seconds=settings.relay_backoff_max_seconds,
            retry_after=error.retry_after,
        )
        return AttemptReport(
            outcome=OUTCOME_RETRY,
            started_at=started_at,
            duration_ms=duration_ms,
            error_class=str(error.error_class),
            error_message=message,
            retry_at=utcnow() + timedelta(seconds=delay),
        )
    if error.retryable:
        message = f"gave up after {record.attempt} attempts: {message}"
    return AttemptReport(
        outcome=OUTCOME_FAILED,
        started_at=started_at,
        duration_ms=duration_ms,
        error_class=str(error.error_class),
        error_message=message,
    )


def attempt_upload(record: ClaimedRecord, store: ObjectStore, settings: Settings) -> AttemptReport:
    """Upload the record's staged file; never raises (every failure is classified)."""
    started = time.monotonic()
    started_at = utcnow()
    if record.attempt > settings.relay_max_attempts:
        # Only reachable when the previous holders all died mid-attempt (a finished attempt at
        # the limit is terminal): give up without uploading, so the download ends
        # upload_failed with a reason instead of being claimed again after every lease expiry.
        exhausted = StoreError(
            ErrorClass.ATTEMPTS_EXHAUSTED,
            f"gave up: all {settings.relay_max_attempts} attempts were abandoned by relays "
            "that stopped before finishing (crashed, killed or cut off); see the history",
        )
        return _failure(record, exhausted, settings, started_at, started)
    try:
        check_recorded_path(record, store)
        request = build_upload_request(record, settings)
        result = store.upload(request)
    except StoreError as error:
        return _failure(record, error, settings, started_at, started)
    except Exception as exc:  # noqa: BLE001 (an unexpected bug must not kill the batch)
        unexpected = StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}")
        return _failure(record, unexpected, settings, started_at, started)
    return AttemptReport(
        outcome=OUTCOME_UPLOADED if result.created else OUTCOME_ALREADY_PRESENT,
        started_at=started_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        bytes_sent=result.bytes_sent,
        etag=result.etag.strip('"') if result.etag else None,
    )
