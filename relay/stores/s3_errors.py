"""Classify botocore failures into :class:`ErrorClass` (pure; no network)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from relay.stores.base import ErrorClass, StoreError

_THROTTLING = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TooManyRequests",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidToken",
        "ExpiredToken",
        "AllAccessDisabled",
        "AccountProblem",
        "KMS.AccessDeniedException",
    }
)
_CORRUPTED = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
_TIMEOUTS = frozenset({"RequestTimeout", "RequestTimeTooSkewed"})


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date); None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    meta: Any = exc.response.get("ResponseMetadata", {})
    return int(meta.get("HTTPStatusCode", 0) or 0)


def classify_client_error(exc: ClientError) -> StoreError:
    code = error_code(exc)
    status = http_status(exc)
    headers: Any = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    retry_after = parse_retry_after(headers.get("retry-after"))
    message = f"{code or status}: {exc.response.get('Error', {}).get('Message', '')}".strip()
    if code in _THROTTLING or status in (429, 503):
        error_class = ErrorClass.THROTTLED
    elif code in _TIMEOUTS or status == 408:
        error_class = ErrorClass.TIMEOUT
    elif code in _CORRUPTED:
        error_class = ErrorClass.TRANSFER_CORRUPTED
    elif code in _DENIED or status in (401, 403):
        error_class = ErrorClass.ACCESS_DENIED
    elif code == "NoSuchBucket":
        error_class = ErrorClass.NO_SUCH_BUCKET
    elif status >= 500:
        error_class = ErrorClass.SERVER_ERROR
    elif 400 <= status < 500:
        error_class = ErrorClass.CLIENT_ERROR
    else:
        error_class = ErrorClass.UNKNOWN
    return StoreError(error_class, message, retry_after=retry_after)


def classify_exception(exc: BaseException) -> StoreError:
    """Any exception raised by a boto3 call, as a classified :class:`StoreError`."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, ClientError):
        return classify_client_error(exc)
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return StoreError(ErrorClass.TIMEOUT, f"{type(exc).__name__}: {exc}")
    if isinstance(
        exc, EndpointConnectionError | ConnectionClosedError | BotoConnectionError | ConnectionError
    ):
        return StoreError(ErrorClass.CONNECTION, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return StoreError(ErrorClass.ACCESS_DENIED, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, TimeoutError):
        return StoreError(ErrorClass.TIMEOUT, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, BotoCoreError | OSError):
        return StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}")
    return StoreError(ErrorClass.UNKNOWN, f"{type(exc).__name__}: {exc}")
