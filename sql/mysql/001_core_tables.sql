-- clean-my-data schema, version 001: reports, downloads, the outbox and its attempt history.
-- MySQL 8 / MariaDB 10.6+; the SQLite twin is sql/sqlite/001_core_tables.sql. Applied by
-- `clean-my-data db upgrade`; outbox/tables.py describes the same tables for queries, and a test
-- proves both dialects' files and that description agree.
-- Statements are separated by lines holding only ";;" (see outbox/migrations.py).

CREATE TABLE analysis_reports (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    analysis_id       VARCHAR(128) NOT NULL,
    tool              VARCHAR(64)  NOT NULL,
    status            VARCHAR(32)  NOT NULL,
    `timestamp`       DATETIME(6)  NOT NULL,
    execution_time_ms INT          NOT NULL,
    report            JSON         NOT NULL,
    report_trimmed    BOOLEAN      NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at        TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT pk_analysis_reports PRIMARY KEY (id),
    CONSTRAINT uq_analysis_reports_analysis_id UNIQUE (analysis_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;;

-- One row per artifact. download_id is a deterministic UUID of (analysis_id, artifact kind).
-- staged_path is relative to the staging directory of volume staging_volume.
CREATE TABLE downloads (
    download_id    CHAR(36)      NOT NULL,
    analysis_id    VARCHAR(128)  NOT NULL,
    file_name      VARCHAR(255)  NOT NULL,
    format         VARCHAR(32)   NOT NULL,
    size_bytes     BIGINT        NOT NULL,
    sha256         CHAR(64)      NOT NULL,
    s3_path        VARCHAR(1024) NOT NULL,
    object_key     VARCHAR(1024) NOT NULL,
    staged_path    VARCHAR(1024) NOT NULL,
    staging_volume VARCHAR(64)   NOT NULL,
    presigned_url  TEXT          NULL,
    status         VARCHAR(32)   NOT NULL,
    last_error     TEXT          NULL,
    created_at     TIMESTAMP(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at     TIMESTAMP(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT pk_downloads PRIMARY KEY (download_id),
    CONSTRAINT fk_downloads_analysis_id FOREIGN KEY (analysis_id)
        REFERENCES analysis_reports (analysis_id) ON DELETE CASCADE,
    CONSTRAINT ck_downloads_status CHECK (status IN ('pending', 'uploaded', 'upload_failed')),
    CONSTRAINT ck_downloads_format CHECK (format IN ('csv', 'xlsx', 'json')),
    INDEX ix_downloads_analysis_id (analysis_id),
    INDEX ix_downloads_status_updated (status, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;;

-- The outbox, in Debezium's outbox-event-router shape (aggregatetype, aggregateid, type,
-- payload) plus the columns the polling relay needs. state: pending -> done | dead | superseded.
-- A pending row is claimable when available_at <= now and it holds no live lease.
CREATE TABLE outbox (
    id               BIGINT        NOT NULL AUTO_INCREMENT,
    event_id         CHAR(36)      NOT NULL,
    aggregatetype    VARCHAR(64)   NOT NULL,
    aggregateid      VARCHAR(128)  NOT NULL,
    type             VARCHAR(64)   NOT NULL,
    payload          JSON          NOT NULL,
    download_id      CHAR(36)      NOT NULL,
    analysis_id      VARCHAR(128)  NOT NULL,
    staging_volume   VARCHAR(64)   NOT NULL,
    state            VARCHAR(16)   NOT NULL,
    attempts         INT           NOT NULL DEFAULT 0,
    available_at     DATETIME(6)   NOT NULL,
    lease_token      CHAR(36)      NULL,
    lease_owner      VARCHAR(128)  NULL,
    lease_expires_at DATETIME(6)   NULL,
    last_error_class VARCHAR(64)   NULL,
    last_error       TEXT          NULL,
    created_at       DATETIME(6)   NOT NULL,
    updated_at       DATETIME(6)   NOT NULL,
    finished_at      DATETIME(6)   NULL,
    CONSTRAINT pk_outbox PRIMARY KEY (id),
    CONSTRAINT uq_outbox_event_id UNIQUE (event_id),
    CONSTRAINT ck_outbox_state CHECK (state IN ('pending', 'done', 'dead', 'superseded')),
    INDEX ix_outbox_claim (state, staging_volume, available_at),
    INDEX ix_outbox_lease (state, lease_expires_at),
    INDEX ix_outbox_download_id (download_id),
    INDEX ix_outbox_analysis_id (analysis_id),
    INDEX ix_outbox_finished_at (state, finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;;

-- Append-only history: one row per upload attempt (any outcome) and per operator action
-- (requeue, supersede). Never updated, never deleted except by HISTORY_RETENTION_DAYS.
-- No foreign key to outbox: outbox rows are purged by retention, history outlives them.
CREATE TABLE outbox_attempts (
    id            BIGINT        NOT NULL AUTO_INCREMENT,
    outbox_id     BIGINT        NOT NULL,
    download_id   CHAR(36)      NOT NULL,
    analysis_id   VARCHAR(128)  NOT NULL,
    event         VARCHAR(32)   NOT NULL,
    attempt       INT           NOT NULL,
    actor         VARCHAR(128)  NOT NULL,
    started_at    DATETIME(6)   NOT NULL,
    duration_ms   INT           NOT NULL DEFAULT 0,
    bytes         BIGINT        NOT NULL DEFAULT 0,
    outcome       VARCHAR(32)   NOT NULL,
    error_class   VARCHAR(64)   NULL,
    error_message TEXT          NULL,
    object_key    VARCHAR(1024) NULL,
    etag          VARCHAR(128)  NULL,
    reason        TEXT          NULL,
    recorded_at   DATETIME(6)   NOT NULL,
    CONSTRAINT pk_outbox_attempts PRIMARY KEY (id),
    INDEX ix_outbox_attempts_download (download_id, id),
    INDEX ix_outbox_attempts_analysis (analysis_id, id),
    INDEX ix_outbox_attempts_recorded_at (recorded_at),
    INDEX ix_outbox_attempts_outcome (outcome, error_class)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
