"""The one settings object. Nothing else in the project reads ``os.environ``.

Every setting is documented in README.md ("Settings"). Values are parsed and validated here so
that a bad value fails at start-up with a one-line message naming the variable.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

# S3 allows presigned URLs of at most seven days (SigV4).
MAX_PRESIGN_TTL_SECONDS = 7 * 24 * 3600
MAX_SINGLE_PUT_BYTES = 5 * 1024**3  # S3: larger objects need a multipart upload


# Polars' allocator (jemalloc, its symbols prefixed _rjem_) reads _RJEM_MALLOC_CONF once, when
# polars is loaded. One arena for all threads instead of four per CPU: a page freed by one thread
# is reused by the next allocation of any thread. Measured on the 200 MB benchmark: 5 % less
# CPU, peak RSS unchanged within the noise (bench/README.md).
ALLOCATOR_DEFAULTS: dict[str, str] = {"_RJEM_MALLOC_CONF": "narenas:1"}


def apply_allocator_defaults(env: MutableMapping[str, str] | None = None) -> None:
    """Set the allocator variables the caller has not set. Effective only before polars is
    imported, so the console script calls it first."""
    env = os.environ if env is None else env
    for name, value in ALLOCATOR_DEFAULTS.items():
        env.setdefault(name, value)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class StoreLocation:
    """Where artifacts go: ``s3://bucket/prefix`` or ``file:///abs/dir``."""

    scheme: str  # "s3" | "file"
    bucket: str  # S3 bucket; for file stores the absolute directory
    prefix: str  # key prefix without leading/trailing slashes ("" when none)

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"


def parse_store_url(url: str) -> StoreLocation:
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise SettingsError(f"ARTIFACT_STORE_URL {url!r}: an s3:// URL needs a bucket")
        return StoreLocation("s3", parsed.netloc, parsed.path.strip("/"))
    if parsed.scheme == "file":
        # file:///abs/dir and file://localhost/abs/dir are absolute; file://./rel is relative.
        path = parsed.path if parsed.netloc in ("", "localhost") else parsed.netloc + parsed.path
        if not path:
            raise SettingsError(f"ARTIFACT_STORE_URL {url!r}: a file:// URL needs a directory")
        return StoreLocation("file", str(Path(path).expanduser().resolve()), "")
    raise SettingsError(f"ARTIFACT_STORE_URL {url!r}: expected s3://bucket[/prefix] or file:///dir")


def _int(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name}={raw!r}: must be at most {maximum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    return default if raw is None or raw.strip() == "" else raw.strip()


def _optional(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return None if raw is None or raw.strip() == "" else raw.strip()


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _str(env, name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Settings:
    # --- contract variables (DESIGN.md) ---
    database_url: str = "sqlite:///var/clean-my-data.sqlite3"
    artifact_store_url: str = "file://./var/artifacts"
    s3_endpoint_url: str | None = None
    aws_region: str | None = None
    staging_dir: Path = Path("var/staging")
    app_env: str = "dev"
    # --- transformer / outbox ---
    staging_volume_id: str = "default"
    report_max_bytes: int = 4 * 1024 * 1024
    inline_max_bytes: int = 64 * 1024 * 1024
    # --- relay ---
    relay_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    relay_batch_size: int = 32
    relay_concurrency: int = 4
    relay_poll_interval_seconds: float = 0.5
    relay_lease_seconds: int = 60
    relay_max_attempts: int = 5
    relay_backoff_base_seconds: float = 2.0
    relay_backoff_max_seconds: float = 300.0
    relay_orphan_grace_seconds: int = 3600
    # AWS's guidance: consider multipart from about 100 MB. A single PUT needs no hashing by
    # the relay (the server checks the whole object's sha256, known from the outbox record).
    relay_multipart_threshold_bytes: int = 100 * 1024 * 1024
    relay_multipart_chunk_bytes: int = 16 * 1024 * 1024
    relay_max_bytes_in_flight: int = 64 * 1024 * 1024
    s3_sse: str | None = None  # "AES256" | "aws:kms"
    s3_sse_kms_key_id: str | None = None
    s3_connect_timeout_seconds: float = 5.0
    s3_read_timeout_seconds: float = 60.0
    presign_ttl_seconds: int = 900
    metrics_port: int | None = None
    # --- retention ---
    outbox_retention_days: int = 30
    history_retention_days: int | None = None  # None = keep forever
    # --- logging ---
    log_format: str = "auto"  # auto | json | console
    log_level: str = "info"
    # --- fault injection (tests only; see README "Guarantees") ---
    crash_point: str | None = None
    # --- database ---
    db_timeout_seconds: int = 180  # pymysql read/write timeout: a hung server fails, never blocks
    # --- analysis jobs and workers ---
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    job_max_attempts: int = 3
    job_lease_seconds: int = 60
    worker_poll_interval_seconds: float = 1.0
    worker_scratch_dir: Path = Path("var/scratch")
    job_input_retention_hours: int = 24
    job_input_grace_seconds: int = 3600
    # --- HTTP API ---
    max_upload_bytes: int = 1024**3
    api_body_timeout_seconds: float = 30.0

    @property
    def store(self) -> StoreLocation:
        return parse_store_url(self.artifact_store_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls(
            database_url=_str(env, "DATABASE_URL", cls.database_url),
            artifact_store_url=_str(env, "ARTIFACT_STORE_URL", cls.artifact_store_url),
            s3_endpoint_url=_optional(env, "S3_ENDPOINT_URL"),
            aws_region=_optional(env, "AWS_REGION") or _optional(env, "AWS_DEFAULT_REGION"),
            staging_dir=Path(_str(env, "STAGING_DIR", str(cls.staging_dir))),
            app_env=_str(env, "APP_ENV", cls.app_env),
            staging_volume_id=_str(env, "STAGING_VOLUME_ID", cls.staging_volume_id),
            report_max_bytes=_int(env, "REPORT_MAX_BYTES", cls.report_max_bytes, minimum=1024),
            inline_max_bytes=_int(env, "INLINE_MAX_BYTES", cls.inline_max_bytes, minimum=1),
            relay_id=_str(env, "RELAY_ID", f"{socket.gethostname()}:{os.getpid()}"),
            relay_batch_size=_int(env, "RELAY_BATCH_SIZE", cls.relay_batch_size, minimum=1),
            relay_concurrency=_int(env, "RELAY_CONCURRENCY", cls.relay_concurrency, minimum=1),
            relay_poll_interval_seconds=_float(
                env, "RELAY_POLL_INTERVAL_SECONDS", cls.relay_poll_interval_seconds, minimum=0.01
            ),
            relay_lease_seconds=_int(
                env, "RELAY_LEASE_SECONDS", cls.relay_lease_seconds, minimum=1
            ),
            relay_max_attempts=_int(env, "RELAY_MAX_ATTEMPTS", cls.relay_max_attempts, minimum=1),
            relay_backoff_base_seconds=_float(
                env, "RELAY_BACKOFF_BASE_SECONDS", cls.relay_backoff_base_seconds
            ),
            relay_backoff_max_seconds=_float(
                env, "RELAY_BACKOFF_MAX_SECONDS", cls.relay_backoff_max_seconds
            ),
            relay_orphan_grace_seconds=_int(
                env, "RELAY_ORPHAN_GRACE_SECONDS", cls.relay_orphan_grace_seconds
            ),
            relay_multipart_threshold_bytes=_int(
                env,
                "RELAY_MULTIPART_THRESHOLD_BYTES",
                cls.relay_multipart_threshold_bytes,
                minimum=5 * 1024 * 1024,
                maximum=MAX_SINGLE_PUT_BYTES,
            ),
            relay_multipart_chunk_bytes=_int(
                env,
                "RELAY_MULTIPART_CHUNK_BYTES",
                cls.relay_multipart_chunk_bytes,
                minimum=5 * 1024 * 1024,
            ),
            relay_max_bytes_in_flight=_int(
                env,
                "RELAY_MAX_BYTES_IN_FLIGHT",
                cls.relay_max_bytes_in_flight,
                minimum=1024 * 1024,
            ),
            s3_sse=_optional(env, "S3_SSE"),
            s3_sse_kms_key_id=_optional(env, "S3_SSE_KMS_KEY_ID"),
            s3_connect_timeout_seconds=_float(
                env, "S3_CONNECT_TIMEOUT_SECONDS", cls.s3_connect_timeout_seconds, minimum=0.1
            ),
            s3_read_timeout_seconds=_float(
                env, "S3_READ_TIMEOUT_SECONDS", cls.s3_read_timeout_seconds, minimum=0.1
            ),
            presign_ttl_seconds=_int(
                env, "PRESIGN_TTL_SECONDS", cls.presign_ttl_seconds, minimum=1
            ),
            metrics_port=_int(env, "METRICS_PORT", 0) or None,
            outbox_retention_days=_int(
                env, "OUTBOX_RETENTION_DAYS", cls.outbox_retention_days, minimum=1
            ),
            history_retention_days=_int(env, "HISTORY_RETENTION_DAYS", 0) or None,
            log_format=_choice(env, "LOG_FORMAT", cls.log_format, ("auto", "json", "console")),
            log_level=_choice(
                env, "LOG_LEVEL", cls.log_level, ("debug", "info", "warning", "error")
            ),
            crash_point=_optional(env, "CLEAN_MY_DATA_CRASH_AT"),
            db_timeout_seconds=_int(env, "DB_TIMEOUT_SECONDS", cls.db_timeout_seconds, minimum=1),
            worker_id=_str(env, "WORKER_ID", f"{socket.gethostname()}:{os.getpid()}"),
            job_max_attempts=_int(
                env, "JOB_MAX_ATTEMPTS", cls.job_max_attempts, minimum=1, maximum=100
            ),
            job_lease_seconds=_int(
                env, "JOB_LEASE_SECONDS", cls.job_lease_seconds, minimum=2, maximum=3600
            ),
            worker_poll_interval_seconds=_float(
                env, "WORKER_POLL_INTERVAL_SECONDS", cls.worker_poll_interval_seconds, minimum=0.01
            ),
            worker_scratch_dir=Path(_str(env, "WORKER_SCRATCH_DIR", str(cls.worker_scratch_dir))),
            job_input_retention_hours=_int(
                env, "JOB_INPUT_RETENTION_HOURS", cls.job_input_retention_hours, minimum=0
            ),
            job_input_grace_seconds=_int(
                env, "JOB_INPUT_GRACE_SECONDS", cls.job_input_grace_seconds, minimum=60
            ),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", cls.max_upload_bytes, minimum=1),
            api_body_timeout_seconds=_float(
                env, "API_BODY_TIMEOUT_SECONDS", cls.api_body_timeout_seconds, minimum=0.1
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        self.store  # noqa: B018  (parses ARTIFACT_STORE_URL, raising SettingsError)
        if self.presign_ttl_seconds > MAX_PRESIGN_TTL_SECONDS:
            raise SettingsError(
                f"PRESIGN_TTL_SECONDS={self.presign_ttl_seconds}: S3 allows at most "
                f"{MAX_PRESIGN_TTL_SECONDS} (7 days)"
            )
        if self.s3_sse not in (None, "AES256", "aws:kms"):
            raise SettingsError(f"S3_SSE={self.s3_sse!r}: expected AES256 or aws:kms")
        if self.relay_backoff_max_seconds < self.relay_backoff_base_seconds:
            raise SettingsError("RELAY_BACKOFF_MAX_SECONDS must be >= RELAY_BACKOFF_BASE_SECONDS")
