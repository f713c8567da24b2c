"""SQLAlchemy Core descriptions of the tables the files under ``sql/`` create, for queries.

The schema itself comes from the numbered DDL files on every backend (``sql/mysql/`` and
``sql/sqlite/``, applied by :mod:`outbox.migrations`); nothing creates tables from this metadata.
``tests/integration/outbox/test_schema_agreement.py`` migrates a fresh MariaDB and a fresh SQLite
database and checks that both reflect to exactly these tables, columns, keys and indexes.
All datetimes are naive UTC.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

# Download statuses (downloads.status)
PENDING: Final = "pending"
UPLOADED: Final = "uploaded"
UPLOAD_FAILED: Final = "upload_failed"
DOWNLOAD_STATUSES: Final = (PENDING, UPLOADED, UPLOAD_FAILED)

# Outbox states (outbox.state)
OUTBOX_PENDING: Final = "pending"
OUTBOX_DONE: Final = "done"
OUTBOX_DEAD: Final = "dead"
OUTBOX_SUPERSEDED: Final = "superseded"

# Debezium outbox routing values
AGGREGATE_TYPE: Final = "download"
EVENT_TYPE_STAGED: Final = "artifact_staged"

# History events (outbox_attempts.event) and outcomes (outbox_attempts.outcome)
EVENT_UPLOAD: Final = "upload"
EVENT_REQUEUE: Final = "requeue"
EVENT_SUPERSEDE: Final = "supersede"
EVENT_DELETE_OBJECT: Final = "delete_object"  # an operator removed a superseded object
OUTCOME_UPLOADED: Final = "uploaded"  # object written and verified
OUTCOME_ALREADY_PRESENT: Final = "already_present"  # 412 on create-only write, same bytes
OUTCOME_RETRY: Final = "retry_scheduled"  # retryable error, attempts left
OUTCOME_FAILED: Final = "failed"  # terminal error or attempts exhausted -> upload_failed
OUTCOME_LEASE_LOST: Final = "lease_lost"  # finished after another relay took the lease over
OUTCOME_ABANDONED: Final = "abandoned"  # claimed, never recorded: lease expired, reclaimed
OUTCOME_REQUEUED: Final = "requeued"  # operator put an upload_failed download back in the queue
OUTCOME_SUPERSEDED: Final = "superseded"  # a re-run staged different bytes for the download
OUTCOME_DELETED: Final = "deleted"  # the object no downloads row refers to was deleted

metadata = MetaData()

# BIGINT AUTO_INCREMENT on MySQL; INTEGER PRIMARY KEY (rowid alias) on SQLite.
_Id = BigInteger().with_variant(Integer, "sqlite")
_Ts = DateTime()

analysis_reports = Table(
    "analysis_reports",
    metadata,
    Column("id", _Id, autoincrement=True),
    Column("analysis_id", String(128), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("timestamp", _Ts, nullable=False),
    Column("execution_time_ms", Integer, nullable=False),
    Column("report", JSON, nullable=False),
    Column("report_trimmed", Boolean, nullable=False, server_default="0"),
    Column("created_at", _Ts, nullable=False, server_default=func.current_timestamp()),
    Column("updated_at", _Ts, nullable=False, server_default=func.current_timestamp()),
    PrimaryKeyConstraint("id", name="pk_analysis_reports"),
    UniqueConstraint("analysis_id", name="uq_analysis_reports_analysis_id"),
)

downloads = Table(
    "downloads",
    metadata,
    Column("download_id", String(36), nullable=False),
    Column("analysis_id", String(128), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("format", String(32), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("s3_path", String(1024), nullable=False),
    Column("object_key", String(1024), nullable=False),
    Column("staged_path", String(1024), nullable=False),
    Column("staging_volume", String(64), nullable=False),
    Column("presigned_url", Text, nullable=True),
    Column("status", String(32), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", _Ts, nullable=False, server_default=func.current_timestamp()),
    Column("updated_at", _Ts, nullable=False, server_default=func.current_timestamp()),
    PrimaryKeyConstraint("download_id", name="pk_downloads"),
    ForeignKeyConstraint(
        ["analysis_id"],
        ["analysis_reports.analysis_id"],
        name="fk_downloads_analysis_id",
        ondelete="CASCADE",
    ),
    CheckConstraint(
        "status IN ('pending', 'uploaded', 'upload_failed')", name="ck_downloads_status"
    ),
    CheckConstraint("format IN ('csv', 'xlsx', 'json', 'parquet')", name="ck_downloads_format"),
    Index("ix_downloads_analysis_id", "analysis_id"),
    Index("ix_downloads_status_updated", "status", "updated_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", _Id, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("aggregatetype", String(64), nullable=False),
    Column("aggregateid", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("download_id", String(36), nullable=False),
    Column("analysis_id", String(128), nullable=False),
    Column("staging_volume", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", _Ts, nullable=False),
    Column("lease_token", String(36), nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", _Ts, nullable=True),
    Column("last_error_class", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", _Ts, nullable=False),
    Column("updated_at", _Ts, nullable=False),
    Column("finished_at", _Ts, nullable=True),
    PrimaryKeyConstraint("id", name="pk_outbox"),
    UniqueConstraint("event_id", name="uq_outbox_event_id"),
    CheckConstraint("state IN ('pending', 'done', 'dead', 'superseded')", name="ck_outbox_state"),
    Index("ix_outbox_claim", "state", "staging_volume", "available_at"),
    Index("ix_outbox_lease", "state", "lease_expires_at"),
    Index("ix_outbox_download_id", "download_id"),
    Index("ix_outbox_analysis_id", "analysis_id"),
    Index("ix_outbox_finished_at", "state", "finished_at"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", _Id, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("download_id", String(36), nullable=False),
    Column("analysis_id", String(128), nullable=False),
    Column("event", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("started_at", _Ts, nullable=False),
    Column("duration_ms", Integer, nullable=False, server_default="0"),
    Column("bytes", BigInteger, nullable=False, server_default="0"),
    Column("outcome", String(32), nullable=False),
    Column("error_class", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("object_key", String(1024), nullable=True),
    Column("etag", String(128), nullable=True),
    Column("reason", Text, nullable=True),
    Column("recorded_at", _Ts, nullable=False),
    PrimaryKeyConstraint("id", name="pk_outbox_attempts"),
    Index("ix_outbox_attempts_download", "download_id", "id"),
    Index("ix_outbox_attempts_analysis", "analysis_id", "id"),
    Index("ix_outbox_attempts_recorded_at", "recorded_at"),
    Index("ix_outbox_attempts_outcome", "outcome", "error_class"),
)

# Analysis job statuses (analysis_jobs.status)
JOB_QUEUED: Final = "queued"
JOB_RUNNING: Final = "running"
JOB_SUCCEEDED: Final = "succeeded"
JOB_FAILED: Final = "failed"
JOB_STATUSES: Final = (JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED)

# API token roles (api_tokens.role)
ROLE_ANALYST: Final = "analyst"
ROLE_AUDITOR: Final = "auditor"
ROLE_ADMIN: Final = "admin"
ROLES: Final = (ROLE_ANALYST, ROLE_AUDITOR, ROLE_ADMIN)

analysis_jobs = Table(
    "analysis_jobs",
    metadata,
    Column("id", _Id, autoincrement=True),
    Column("analysis_id", String(128), nullable=False),
    Column("input_key", String(1024), nullable=False),
    Column("input_name", String(255), nullable=False),
    Column("input_size", BigInteger, nullable=False),
    Column("input_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_token", String(36), nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", _Ts, nullable=True),
    Column("phase", String(32), nullable=True),
    Column("progress", Double, nullable=False, server_default="0"),
    Column("error_class", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", _Ts, nullable=False),
    Column("available_at", _Ts, nullable=False),
    Column("started_at", _Ts, nullable=True),
    Column("finished_at", _Ts, nullable=True),
    Column("input_deleted_at", _Ts, nullable=True),
    Column("updated_at", _Ts, nullable=False),
    PrimaryKeyConstraint("id", name="pk_analysis_jobs"),
    UniqueConstraint("analysis_id", name="uq_analysis_jobs_analysis_id"),
    CheckConstraint(
        "status IN ('queued', 'running', 'succeeded', 'failed')", name="ck_analysis_jobs_status"
    ),
    Index("ix_analysis_jobs_claim", "status", "available_at"),
    Index("ix_analysis_jobs_lease", "status", "lease_expires_at"),
    Index("ix_analysis_jobs_finished", "status", "finished_at"),
    Index("ix_analysis_jobs_submitted_by", "submitted_by", "id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", _Id, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("created_at", _Ts, nullable=False),
    Column("revoked_at", _Ts, nullable=True),
    PrimaryKeyConstraint("id", name="pk_api_tokens"),
    UniqueConstraint("name", name="uq_api_tokens_name"),
    UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    CheckConstraint("role IN ('analyst', 'auditor', 'admin')", name="ck_api_tokens_role"),
)

# One row per relay process (relay/heartbeat.py upserts it; the auditor dashboard reads it).
relay_heartbeats = Table(
    "relay_heartbeats",
    metadata,
    Column("relay_id", String(128), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(64), nullable=False),
    Column("staging_volume", String(64), nullable=False),
    Column("started_at", _Ts, nullable=False),
    Column("last_seen_at", _Ts, nullable=False),
    Column("last_batch_at", _Ts, nullable=True),
    Column("last_batch_claimed", Integer, nullable=False, server_default="0"),
    Column("last_batch_outcomes", JSON, nullable=True),
    Column("last_batch_duration_ms", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("relay_id", name="pk_relay_heartbeats"),
    Index("ix_relay_heartbeats_last_seen", "last_seen_at"),
)

# Browser sessions of the web pages (outbox/web_sessions.py): the sha256 of the cookie's id,
# the sha256 of the API token the session was opened with, its CSRF token and expiry.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_sha256", String(64), nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", _Ts, nullable=False),
    Column("expires_at", _Ts, nullable=False),
    PrimaryKeyConstraint("session_sha256", name="pk_web_sessions"),
    Index("ix_web_sessions_token", "token_sha256"),
    Index("ix_web_sessions_expires", "expires_at"),
)
