"""One-shot init step: create the artifact bucket named by ARTIFACT_STORE_URL, idempotently,
and set its CORS rule for direct uploads when API_PUBLIC_URL is set.

Used by docker-compose.yml's ``bucket-init`` service against the SeaweedFS S3 gateway, with the
gateway's admin credentials (the application's own credentials may not create buckets). An
existing bucket owned by the caller is success, so the step can run on every ``up``. On AWS,
create the bucket with your infrastructure tooling instead (see docs/guide/production.md).

With ``API_PUBLIC_URL`` set, the bucket's CORS configuration is replaced by ONE rule: pages
served from that URL's origin may send the presigned POST of a direct upload (``POST
/api/v1/uploads``) to the bucket and read the answer; no other origin, no other method. The same
rule for AWS is ``deploy/aws/cors.json``. Unset, the CORS configuration is left as it is.

Retries connection errors until ``--timeout`` seconds have passed, because the gateway may
answer its health check a moment before it accepts requests. Exit 0 when the bucket exists.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from outbox.settings import Settings, SettingsError

ALREADY_THERE = frozenset({"BucketAlreadyOwnedByYou"})
RETRY_PAUSE_SECONDS = 1.0
CORS_MAX_AGE_SECONDS = 3000  # browsers cache the preflight answer this long


def build_client(settings: Settings) -> Any:
    config = Config(
        connect_timeout=settings.s3_connect_timeout_seconds,
        read_timeout=settings.s3_read_timeout_seconds,
        retries={"max_attempts": 3, "mode": "standard"},
        signature_version="s3v4",
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.aws_region,
        config=config,
    )


def ensure_bucket(client: Any, bucket: str, region: str | None) -> str:
    """Create ``bucket`` unless the caller already owns it; return "created" or "existed"."""
    request: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**request)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ALREADY_THERE:
            return "existed"
        raise
    client.head_bucket(Bucket=bucket)
    return "created"


def cors_configuration(origin: str) -> dict[str, Any]:
    """The bucket's CORS configuration for direct uploads from pages served at ``origin``: the
    browser may POST the presigned form (a preflight is sent when the page watches the upload's
    progress) and read the answer and its ETag."""
    return {
        "CORSRules": [
            {
                "ID": "direct-uploads-from-the-pages",
                "AllowedOrigins": [origin],
                "AllowedMethods": ["POST"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
            }
        ]
    }


def set_cors(client: Any, bucket: str, origin: str) -> None:
    """Replace the bucket's CORS configuration by :func:`cors_configuration` (idempotent)."""
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors_configuration(origin))


def ensure_bucket_with_retries(settings: Settings, timeout: float) -> str:
    store = settings.store
    if not store.is_s3:
        raise SettingsError(f"ARTIFACT_STORE_URL {settings.artifact_store_url!r} is not s3://")
    client = build_client(settings)
    origin = settings.api_public_origin
    deadline = time.monotonic() + timeout
    while True:
        try:
            outcome = ensure_bucket(client, store.bucket, settings.aws_region)
            if origin is not None:
                set_cors(client, store.bucket, origin)
            return outcome
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ):
            if time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_PAUSE_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to keep retrying")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        outcome = ensure_bucket_with_retries(settings, args.timeout)
    except SettingsError as exc:
        print(f"create_bucket: configuration error: {exc}", file=sys.stderr)
        return 2
    except botocore.exceptions.BotoCoreError as exc:
        print(f"create_bucket: {exc}", file=sys.stderr)
        return 1
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"create_bucket: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
        return 1
    print(f"bucket {settings.store.bucket} {outcome}")
    if settings.api_public_origin is not None:
        print(f"bucket {settings.store.bucket} CORS: POST from {settings.api_public_origin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
