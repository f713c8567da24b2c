"""The one settings object. Nothing else in the project reads ``os.environ``.

Every setting is documented in docs/reference/settings.md. Values are parsed and validated here so
that a bad value fails at start-up with a one-line message naming the variable.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import ParseResult, urlparse

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from domain.choices import DUPLICATE_CHOICES, FORMULA_CHOICES
from domain.display import escape_name, mask_credentials
from outbox.access import HOW_TO_GENERATE, token_weakness

# S3 allows presigned URLs of at most seven days (SigV4).
MAX_PRESIGN_TTL_SECONDS = 7 * 24 * 3600
MAX_SINGLE_PUT_BYTES = 5 * 1024**3  # S3: larger objects need a multipart upload
MAX_STAGING_VOLUME_ID_LENGTH: Final = 64  # downloads.staging_volume, outbox.staging_volume
MAX_RELAY_ID_LENGTH: Final = 128  # outbox.lease_owner, outbox_history.actor
MAX_SECONDS: Final = 7 * 24 * 3600  # upper bound of every interval, timeout and lease
MAX_RETENTION_DAYS: Final = 100 * 366
MAX_BYTES_SETTING: Final = 1 << 40  # upper bound of every byte-size setting (1 TiB)
# The database drivers this package installs: anything else fails at the first connection.
DATABASE_DRIVERS: Final = {
    "sqlite": ("pysqlite",),
    "mysql": ("pymysql",),
    "mariadb": ("pymysql",),
}


# Polars' allocator (jemalloc, its symbols prefixed _rjem_) reads _RJEM_MALLOC_CONF once, when
# polars is loaded. One arena for all threads instead of four per CPU: a page freed by one thread
# is reused by the next allocation of any thread. Measured on the 200 MB benchmark: 5 % less
# CPU, peak RSS unchanged within the noise (bench/README.md).
# pyarrow's memory pool: jemalloc returns freed pages sooner than the default mimalloc
# (bench_artifacts, 1 GiB: peak RSS 480 vs 513 MB on the generator profile, 444 vs 491 MB on
# the export profile). pyarrow reads ARROW_DEFAULT_MEMORY_POOL when it is imported, which the
# package does before the console script runs: the script switches the pool itself.
ARROW_POOL_VARIABLE: Final = "ARROW_DEFAULT_MEMORY_POOL"
ALLOCATOR_DEFAULTS: dict[str, str] = {
    "_RJEM_MALLOC_CONF": "narenas:1",
    ARROW_POOL_VARIABLE: "jemalloc",
}


def apply_allocator_defaults(env: MutableMapping[str, str] | None = None) -> set[str]:
    """Set the allocator variables the caller has not set and return their names. Effective
    for polars only before it is imported, so the console script calls it first; for pyarrow
    (already imported) the script applies the pool named here."""
    env = os.environ if env is None else env
    applied = {name for name in ALLOCATOR_DEFAULTS if name not in env}
    for name in applied:
        env[name] = ALLOCATOR_DEFAULTS[name]
    return applied


# Every variable ``Settings.from_env`` reads.
ENV_NAMES: Final = (
    "DATABASE_URL",
    "ARTIFACT_STORE_URL",
    "S3_ENDPOINT_URL",
    "S3_PUBLIC_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "STAGING_DIR",
    "APP_ENV",
    "STAGING_VOLUME_ID",
    "REPORT_MAX_BYTES",
    "INLINE_MAX_BYTES",
    "RELAY_ID",
    "RELAY_BATCH_SIZE",
    "RELAY_CONCURRENCY",
    "RELAY_POLL_INTERVAL_SECONDS",
    "RELAY_LEASE_SECONDS",
    "RELAY_MAX_ATTEMPTS",
    "RELAY_BACKOFF_BASE_SECONDS",
    "RELAY_BACKOFF_MAX_SECONDS",
    "RELAY_ORPHAN_GRACE_SECONDS",
    "RELAY_MULTIPART_THRESHOLD_BYTES",
    "RELAY_MULTIPART_CHUNK_BYTES",
    "RELAY_MAX_BYTES_IN_FLIGHT",
    "S3_SSE",
    "S3_SSE_KMS_KEY_ID",
    "S3_CONNECT_TIMEOUT_SECONDS",
    "S3_READ_TIMEOUT_SECONDS",
    "PRESIGN_TTL_SECONDS",
    "METRICS_PORT",
    "OUTBOX_RETENTION_DAYS",
    "HISTORY_RETENTION_DAYS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "CLEAN_MY_DATA_CRASH_AT",
    "DB_TIMEOUT_SECONDS",
    "DUPLICATES_POLICY",
    "FORMULA_CELLS",
    "WORKER_ID",
    "JOB_MAX_ATTEMPTS",
    "JOB_LEASE_SECONDS",
    "WORKER_POLL_INTERVAL_SECONDS",
    "WORKER_SCRATCH_DIR",
    "JOB_INPUT_RETENTION_HOURS",
    "JOB_INPUT_GRACE_SECONDS",
    "MAX_UPLOAD_BYTES",
    "API_BODY_TIMEOUT_SECONDS",
    "API_ADMIN_TOKEN",
    "API_PUBLIC_URL",
)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable (one line, no
    credential)."""

    def __init__(self, message: str) -> None:
        super().__init__(escape_name(mask_credentials(message)))


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
    try:
        return _parse_store_url(url)
    except ValueError as exc:  # urlparse: "Invalid IPv6 URL"; a path: "embedded null byte"
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(f"ARTIFACT_STORE_URL {url!r}: {exc}") from None


_BUCKET_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _parse_store_url(url: str) -> StoreLocation:
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise SettingsError(f"ARTIFACT_STORE_URL {url!r}: an s3:// URL needs a bucket")
        if "@" in parsed.netloc:
            raise SettingsError(
                f"ARTIFACT_STORE_URL {url!r}: credentials do not belong in the URL (they would be "
                "stored in every s3_path); use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        if not _BUCKET_NAME.fullmatch(parsed.netloc):
            raise SettingsError(
                f"ARTIFACT_STORE_URL {url!r}: {parsed.netloc!r} is not a bucket name "
                "(letters, digits, '.', '-'; the endpoint goes in S3_ENDPOINT_URL)"
            )
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
    except ValueError:  # also a number of more than 4,300 digits
        raise SettingsError(f"{name}={_shown(raw)}: expected a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={_shown(raw)}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name}={_shown(raw)}: must be at most {maximum}")
    return value


def _float(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float = 0.0,
    maximum: float = MAX_SECONDS,
) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={_shown(raw)}: expected a number") from None
    if not math.isfinite(value):
        raise SettingsError(f"{name}={_shown(raw)}: expected a finite number")
    if value < minimum:
        raise SettingsError(f"{name}={_shown(raw)}: must be at least {minimum}")
    if value > maximum:
        raise SettingsError(f"{name}={_shown(raw)}: must be at most {maximum:g}")
    return value


def _shown(raw: str) -> str:
    """A raw value as quoted in a message: at most 80 characters."""
    return repr(raw if len(raw) <= 80 else raw[:80] + "...")


def _str(env: Mapping[str, str], name: str, default: str, *, max_length: int = 4096) -> str:
    return _optional(env, name, max_length=max_length) or default


def _optional(env: Mapping[str, str], name: str, *, max_length: int = 4096) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if len(value) > max_length:
        raise SettingsError(f"{name}: {len(value)} characters long (at most {max_length})")
    if not value.isprintable():
        raise SettingsError(f"{name}={_shown(value)}: holds control characters")
    return value


def check_database_url(url: str) -> URL:
    """``DATABASE_URL`` parsed, with a driver this package installs and a valid port."""
    name = "DATABASE_URL"
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError) as exc:
        reason = "not a valid database URL" if isinstance(exc, ArgumentError) else str(exc)
        raise SettingsError(f"{name} {url!r}: {reason}") from None
    backend = parsed.get_backend_name()
    drivers = DATABASE_DRIVERS.get(backend)
    if drivers is None:
        raise SettingsError(
            f"{name} {url!r}: {backend!r} is not supported; expected mysql+pymysql:// or sqlite:///"
        )
    if parsed.get_driver_name() not in drivers:
        raise SettingsError(
            f"{name} {url!r}: the driver {parsed.get_driver_name()!r} is not installed; "
            f"use {backend}+{drivers[0]}://"
        )
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(f"{name} {url!r}: the port must be 1-65535")
    return parsed


def _http_url(name: str, url: str, shape: str) -> tuple[ParseResult, int | None]:
    """``url`` parsed, with its port, when it is http(s) with a host; ``shape`` is what the
    error says was expected."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        raise SettingsError(f"{name} {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SettingsError(f"{name} {url!r}: expected {shape}")
    return parsed, port


def check_endpoint_url(name: str, url: str) -> None:
    """An http(s) URL with a host and, if any, a port of 1-65535."""
    parsed, port = _http_url(name, url, "http(s)://host[:port]")
    if "@" in parsed.netloc:
        raise SettingsError(
            f"{name} {url!r}: credentials do not belong in the URL; use AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY"
        )
    if port == 0:
        raise SettingsError(f"{name} {url!r}: the port must be 1-65535")


def _secret_token(env: Mapping[str, str], name: str) -> str | None:
    """A chosen API token secret, or None when unset. The message never shows the value."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    weakness = token_weakness(value)
    if weakness is not None:
        raise SettingsError(f"{name}: {weakness}; {HOW_TO_GENERATE}")
    return value


def check_public_url(name: str, url: str) -> str:
    """An http(s) URL clients use to reach a service; returns its origin (``scheme://host[:port]``,
    lower case), what a browser sends as ``Origin``."""
    parsed, port = _http_url(name, url, "http(s)://host[:port][/path]")
    if "@" in parsed.netloc or parsed.query or parsed.fragment or port == 0:
        raise SettingsError(
            f"{name} {url!r}: expected http(s)://host[:port][/path] (no user, query or fragment; "
            "a port of 1-65535)"
        )
    return f"{parsed.scheme}://{parsed.netloc.lower()}"


def _optional_int(env: Mapping[str, str], name: str, *, minimum: int, maximum: int) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return _int(env, name, minimum, minimum=minimum, maximum=maximum)


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _str(env, name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Settings:
    # --- contract variables (docs/reference/settings.md) ---
    database_url: str = "sqlite:///var/clean-my-data.sqlite3"
    artifact_store_url: str = "file://./var/artifacts"
    s3_endpoint_url: str | None = None
    # Where browsers reach the store: the host of presigned URLs (None: S3_ENDPOINT_URL).
    s3_public_endpoint_url: str | None = None
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
    # --- fault injection (tests only; see docs/design/guarantees.md) ---
    crash_point: str | None = None
    # --- cleaning (analyze; the CLI flags --duplicates / --formulas override them) ---
    duplicates_policy: str = "auto"  # auto | keep | drop
    formula_cells: str = "keep"  # keep | neutralise
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
    # the secret of the admin token `serve` ensures at start (never shown: repr=False)
    api_admin_token: str | None = field(default=None, repr=False)
    api_public_url: str | None = None  # where browsers reach the API: the bucket's CORS origin

    @property
    def store(self) -> StoreLocation:
        return parse_store_url(self.artifact_store_url)

    @property
    def api_public_origin(self) -> str | None:
        """The origin of ``API_PUBLIC_URL`` (``scheme://host[:port]``), or None when unset."""
        if self.api_public_url is None:
            return None
        return check_public_url("API_PUBLIC_URL", self.api_public_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls(
            database_url=_str(env, "DATABASE_URL", cls.database_url),
            artifact_store_url=_str(env, "ARTIFACT_STORE_URL", cls.artifact_store_url),
            s3_endpoint_url=_optional(env, "S3_ENDPOINT_URL"),
            s3_public_endpoint_url=_optional(env, "S3_PUBLIC_ENDPOINT_URL"),
            aws_region=_optional(env, "AWS_REGION") or _optional(env, "AWS_DEFAULT_REGION"),
            staging_dir=Path(_str(env, "STAGING_DIR", str(cls.staging_dir))),
            app_env=_str(env, "APP_ENV", cls.app_env),
            staging_volume_id=_str(
                env,
                "STAGING_VOLUME_ID",
                cls.staging_volume_id,
                max_length=MAX_STAGING_VOLUME_ID_LENGTH,
            ),
            report_max_bytes=_int(
                env,
                "REPORT_MAX_BYTES",
                cls.report_max_bytes,
                minimum=1024,
                maximum=MAX_BYTES_SETTING,
            ),
            inline_max_bytes=_int(
                env, "INLINE_MAX_BYTES", cls.inline_max_bytes, minimum=1, maximum=MAX_BYTES_SETTING
            ),
            relay_id=_str(
                env,
                "RELAY_ID",
                f"{socket.gethostname()}:{os.getpid()}"[:MAX_RELAY_ID_LENGTH],
                max_length=MAX_RELAY_ID_LENGTH,
            ),
            relay_batch_size=_int(
                env, "RELAY_BATCH_SIZE", cls.relay_batch_size, minimum=1, maximum=10_000
            ),
            relay_concurrency=_int(
                env, "RELAY_CONCURRENCY", cls.relay_concurrency, minimum=1, maximum=1024
            ),
            relay_poll_interval_seconds=_float(
                env,
                "RELAY_POLL_INTERVAL_SECONDS",
                cls.relay_poll_interval_seconds,
                minimum=0.01,
                maximum=3600,
            ),
            relay_lease_seconds=_int(
                env, "RELAY_LEASE_SECONDS", cls.relay_lease_seconds, minimum=1, maximum=MAX_SECONDS
            ),
            relay_max_attempts=_int(
                env, "RELAY_MAX_ATTEMPTS", cls.relay_max_attempts, minimum=1, maximum=1000
            ),
            relay_backoff_base_seconds=_float(
                env, "RELAY_BACKOFF_BASE_SECONDS", cls.relay_backoff_base_seconds
            ),
            relay_backoff_max_seconds=_float(
                env, "RELAY_BACKOFF_MAX_SECONDS", cls.relay_backoff_max_seconds
            ),
            relay_orphan_grace_seconds=_int(
                env,
                "RELAY_ORPHAN_GRACE_SECONDS",
                cls.relay_orphan_grace_seconds,
                maximum=MAX_SECONDS,
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
                maximum=MAX_SINGLE_PUT_BYTES,
            ),
            relay_max_bytes_in_flight=_int(
                env,
                "RELAY_MAX_BYTES_IN_FLIGHT",
                cls.relay_max_bytes_in_flight,
                minimum=1024 * 1024,
                maximum=MAX_BYTES_SETTING,
            ),
            s3_sse=_optional(env, "S3_SSE"),
            s3_sse_kms_key_id=_optional(env, "S3_SSE_KMS_KEY_ID"),
            s3_connect_timeout_seconds=_float(
                env,
                "S3_CONNECT_TIMEOUT_SECONDS",
                cls.s3_connect_timeout_seconds,
                minimum=0.1,
                maximum=3600,
            ),
            s3_read_timeout_seconds=_float(
                env,
                "S3_READ_TIMEOUT_SECONDS",
                cls.s3_read_timeout_seconds,
                minimum=0.1,
                maximum=3600,
            ),
            presign_ttl_seconds=_int(
                env,
                "PRESIGN_TTL_SECONDS",
                cls.presign_ttl_seconds,
                minimum=1,
                maximum=MAX_PRESIGN_TTL_SECONDS,
            ),
            metrics_port=_int(env, "METRICS_PORT", 0, maximum=65535) or None,
            outbox_retention_days=_int(
                env,
                "OUTBOX_RETENTION_DAYS",
                cls.outbox_retention_days,
                minimum=1,
                maximum=MAX_RETENTION_DAYS,
            ),
            # unset: history kept forever; 0 is refused rather than read as "unset"
            history_retention_days=_optional_int(
                env, "HISTORY_RETENTION_DAYS", minimum=1, maximum=MAX_RETENTION_DAYS
            ),
            log_format=_choice(env, "LOG_FORMAT", cls.log_format, ("auto", "json", "console")),
            log_level=_choice(
                env, "LOG_LEVEL", cls.log_level, ("debug", "info", "warning", "error")
            ),
            crash_point=_optional(env, "CLEAN_MY_DATA_CRASH_AT"),
            db_timeout_seconds=_int(
                env, "DB_TIMEOUT_SECONDS", cls.db_timeout_seconds, minimum=1, maximum=MAX_SECONDS
            ),
            duplicates_policy=_choice(
                env, "DUPLICATES_POLICY", cls.duplicates_policy, DUPLICATE_CHOICES
            ),
            formula_cells=_choice(env, "FORMULA_CELLS", cls.formula_cells, FORMULA_CHOICES),
            worker_id=_str(env, "WORKER_ID", f"{socket.gethostname()}:{os.getpid()}"),
            job_max_attempts=_int(
                env, "JOB_MAX_ATTEMPTS", cls.job_max_attempts, minimum=1, maximum=100
            ),
            job_lease_seconds=_int(
                env, "JOB_LEASE_SECONDS", cls.job_lease_seconds, minimum=2, maximum=3600
            ),
            worker_poll_interval_seconds=_float(
                env,
                "WORKER_POLL_INTERVAL_SECONDS",
                cls.worker_poll_interval_seconds,
                minimum=0.01,
                maximum=3600,
            ),
            worker_scratch_dir=Path(_str(env, "WORKER_SCRATCH_DIR", str(cls.worker_scratch_dir))),
            job_input_retention_hours=_int(
                env,
                "JOB_INPUT_RETENTION_HOURS",
                cls.job_input_retention_hours,
                minimum=0,
                maximum=MAX_RETENTION_DAYS * 24,
            ),
            job_input_grace_seconds=_int(
                env,
                "JOB_INPUT_GRACE_SECONDS",
                cls.job_input_grace_seconds,
                minimum=60,
                maximum=MAX_SECONDS,
            ),
            max_upload_bytes=_int(
                env, "MAX_UPLOAD_BYTES", cls.max_upload_bytes, minimum=1, maximum=MAX_BYTES_SETTING
            ),
            api_body_timeout_seconds=_float(
                env,
                "API_BODY_TIMEOUT_SECONDS",
                cls.api_body_timeout_seconds,
                minimum=0.1,
                maximum=3600,
            ),
            api_admin_token=_secret_token(env, "API_ADMIN_TOKEN"),
            api_public_url=_optional(env, "API_PUBLIC_URL"),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        self.store  # noqa: B018  (parses ARTIFACT_STORE_URL, raising SettingsError)
        check_database_url(self.database_url)
        if self.s3_endpoint_url is not None:
            check_endpoint_url("S3_ENDPOINT_URL", self.s3_endpoint_url)
        if self.s3_public_endpoint_url is not None:
            check_endpoint_url("S3_PUBLIC_ENDPOINT_URL", self.s3_public_endpoint_url)
        self.api_public_origin  # noqa: B018  (parses API_PUBLIC_URL, raising SettingsError)
        if self.presign_ttl_seconds > MAX_PRESIGN_TTL_SECONDS:
            raise SettingsError(
                f"PRESIGN_TTL_SECONDS={self.presign_ttl_seconds}: S3 allows at most "
                f"{MAX_PRESIGN_TTL_SECONDS} (7 days)"
            )
        if self.s3_sse not in (None, "AES256", "aws:kms"):
            raise SettingsError(f"S3_SSE={self.s3_sse!r}: expected AES256 or aws:kms")
        if self.relay_backoff_max_seconds < self.relay_backoff_base_seconds:
            raise SettingsError("RELAY_BACKOFF_MAX_SECONDS must be >= RELAY_BACKOFF_BASE_SECONDS")
