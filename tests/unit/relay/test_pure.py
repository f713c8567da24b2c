"""Pure relay helpers: backoff, header encoding, botocore error classification."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from relay.backoff import compute_retry_delay
from relay.stores.base import ErrorClass
from relay.stores.headers import (
    base64_to_hex,
    build_content_disposition,
    composite_sha256,
    hex_to_base64,
)
from relay.stores.s3_errors import classify_exception, parse_retry_after


def client_error(code: str, status: int, headers: dict[str, str] | None = None) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "msg"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    return ClientError(response, "PutObject")


def test_backoff_is_full_jitter_below_the_exponential_ceiling() -> None:
    rng = random.Random(7)
    delays = [compute_retry_delay(3, base_seconds=2, max_seconds=300, rng=rng) for _ in range(500)]
    assert all(0 <= d <= 8 for d in delays)
    assert max(delays) > 6
    assert min(delays) < 2


def test_backoff_is_capped_and_honours_retry_after_as_floor() -> None:
    rng = random.Random(1)
    assert compute_retry_delay(30, base_seconds=2, max_seconds=10, rng=rng) <= 10
    assert compute_retry_delay(1, base_seconds=1, max_seconds=60, retry_after=30, rng=rng) >= 30
    assert compute_retry_delay(1, base_seconds=1, max_seconds=60, retry_after=9999, rng=rng) == 60


def test_content_disposition_ascii_name_is_a_plain_quoted_filename() -> None:
    assert (
        build_content_disposition("cleaned_sales.csv") == 'attachment; filename="cleaned_sales.csv"'
    )


def test_content_disposition_non_ascii_name_uses_rfc5987() -> None:
    value = build_content_disposition('résumé "final".csv')
    assert value == (
        'attachment; filename="r_sum_ _final_.csv"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.csv"
    )


def test_checksum_encodings_round_trip_and_composite_form() -> None:
    digest = "ab" * 32
    assert base64_to_hex(hex_to_base64(digest)) == digest
    assert base64_to_hex("abc-2") is None
    assert composite_sha256([bytes(32), bytes(32)]).endswith("-2")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("SlowDown", 503, ErrorClass.THROTTLED),
        ("ServiceUnavailable", 503, ErrorClass.THROTTLED),
        ("Throttling", 400, ErrorClass.THROTTLED),
        ("InternalError", 500, ErrorClass.SERVER_ERROR),
        ("RequestTimeout", 400, ErrorClass.TIMEOUT),
        ("AccessDenied", 403, ErrorClass.ACCESS_DENIED),
        ("SignatureDoesNotMatch", 403, ErrorClass.ACCESS_DENIED),
        ("InvalidAccessKeyId", 403, ErrorClass.ACCESS_DENIED),
        ("NoSuchBucket", 404, ErrorClass.NO_SUCH_BUCKET),
        ("BadDigest", 400, ErrorClass.TRANSFER_CORRUPTED),
        ("InvalidArgument", 400, ErrorClass.CLIENT_ERROR),
    ],
)
def test_client_errors_are_classified(code: str, status: int, expected: ErrorClass) -> None:
    assert classify_exception(client_error(code, status)).error_class is expected


def test_retryable_and_terminal_classes() -> None:
    assert classify_exception(client_error("SlowDown", 503)).retryable
    assert classify_exception(client_error("InternalError", 500)).retryable
    assert not classify_exception(client_error("AccessDenied", 403)).retryable
    assert not classify_exception(client_error("NoSuchBucket", 404)).retryable


def test_network_errors_are_classified() -> None:
    assert (
        classify_exception(EndpointConnectionError(endpoint_url="http://x")).error_class
        is ErrorClass.CONNECTION
    )
    assert (
        classify_exception(ConnectTimeoutError(endpoint_url="http://x")).error_class
        is ErrorClass.TIMEOUT
    )
    assert (
        classify_exception(ReadTimeoutError(endpoint_url="http://x")).error_class
        is ErrorClass.TIMEOUT
    )


def test_retry_after_header_is_kept_on_the_error() -> None:
    error = classify_exception(client_error("SlowDown", 503, {"retry-after": "7"}))
    assert error.retry_after == 7.0


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    parsed = parse_retry_after(later)
    assert parsed is not None
    assert 50 <= parsed <= 61


def test_claim_query_skips_locked_rows_in_commit_time_order_on_mysql() -> None:
    from sqlalchemy.dialects import mysql

    from relay.claim import build_claim_query

    query = build_claim_query("vol-a", datetime(2026, 11, 29), 32)
    sql = " ".join(str(query.compile(dialect=mysql.dialect(is_mariadb=True))).split())
    assert sql.endswith("ORDER BY outbox.available_at, outbox.id LIMIT %s FOR UPDATE SKIP LOCKED")
    assert "outbox.staging_volume = %s" in sql
    assert "outbox.lease_expires_at IS NULL OR outbox.lease_expires_at < %s" in sql
    assert "outbox.id >" not in sql  # never "id greater than the last one seen"
