-- clean-my-data schema, version 001: reports, downloads, the outbox and its attempt history.
-- SQLite 3.35+, the embedded default; the MySQL/MariaDB twin is sql/mysql/001_core_tables.sql
-- (same tables, columns, keys and indexes; see that file for what each table holds). Applied by
-- `clean-my-data db upgrade` and by every command that opens an SQLite database, in one
-- transaction. Statements are separated by lines holding only ";;" (see outbox/migrations.py).
-- A single-column INTEGER primary key is SQLite's rowid: it auto-increments like MySQL's BIGINT
-- AUTO_INCREMENT. There is no ON UPDATE for updated_at: the code sets it on every update.

CREATE TABLE analysis_reports (
    id                INTEGER      NOT NULL,
    analysis_id       VARCHAR(128) NOT NULL,
    tool              VARCHAR(64)  NOT NULL,
    status            VARCHAR(32)  NOT NULL,
    "timestamp"       DATETIME     NOT NULL,
    execution_time_ms INTEGER      NOT NULL,
    report            JSON         NOT NULL,
    report_trimmed    BOOLEAN      NOT NULL DEFAULT '0',
    created_at        DATETIME     NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        DATETIME     NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_analysis_reports PRIMARY KEY (id),
    CONSTRAINT uq_analysis_reports_analysis_id UNIQUE (analysis_id)
)
;;

CREATE TABLE downloads (
    download_id    VARCHAR(36)   NOT NULL,
    analysis_id    VARCHAR(128)  NOT NULL,
    file_name      VARCHAR(255)  NOT NULL,
    format         VARCHAR(32)   NOT NULL,
    size_bytes     BIGINT        NOT NULL,
    sha256         VARCHAR(64)   NOT NULL,
    s3_path        VARCHAR(1024) NOT NULL,
    object_key     VARCHAR(1024) NOT NULL,
    staged_path    VARCHAR(1024) NOT NULL,
    staging_volume VARCHAR(64)   NOT NULL,
    presigned_url  TEXT          NULL,
    status         VARCHAR(32)   NOT NULL,
    last_error     TEXT          NULL,
    created_at     DATETIME      NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     DATETIME      NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_downloads PRIMARY KEY (download_id),
    CONSTRAINT fk_downloads_analysis_id FOREIGN KEY (analysis_id)
        REFERENCES analysis_reports (analysis_id) ON DELETE CASCADE,
    CONSTRAINT ck_downloads_status CHECK (status IN ('pending', 'uploaded', 'upload_failed')),
    CONSTRAINT ck_downloads_format CHECK (format IN ('csv', 'xlsx', 'json'))
)
;;
CREATE INDEX ix_downloads_analysis_id ON downloads (analysis_id)
;;
CREATE INDEX ix_downloads_status_updated ON downloads (status, updated_at)
;;

CREATE TABLE outbox (
    id               INTEGER       NOT NULL,
    event_id         VARCHAR(36)   NOT NULL,
    aggregatetype    VARCHAR(64)   NOT NULL,
    aggregateid      VARCHAR(128)  NOT NULL,
    type             VARCHAR(64)   NOT NULL,
    payload          JSON          NOT NULL,
    download_id      VARCHAR(36)   NOT NULL,
    analysis_id      VARCHAR(128)  NOT NULL,
    staging_volume   VARCHAR(64)   NOT NULL,
    state            VARCHAR(16)   NOT NULL,
    attempts         INTEGER       NOT NULL DEFAULT '0',
    available_at     DATETIME      NOT NULL,
    lease_token      VARCHAR(36)   NULL,
    lease_owner      VARCHAR(128)  NULL,
    lease_expires_at DATETIME      NULL,
    last_error_class VARCHAR(64)   NULL,
    last_error       TEXT          NULL,
    created_at       DATETIME      NOT NULL,
    updated_at       DATETIME      NOT NULL,
    finished_at      DATETIME      NULL,
    CONSTRAINT pk_outbox PRIMARY KEY (id),
    CONSTRAINT uq_outbox_event_id UNIQUE (event_id),
    CONSTRAINT ck_outbox_state CHECK (state IN ('pending', 'done', 'dead', 'superseded'))
)
;;
CREATE INDEX ix_outbox_claim ON outbox (state, staging_volume, available_at)
;;
CREATE INDEX ix_outbox_lease ON outbox (state, lease_expires_at)
;;
CREATE INDEX ix_outbox_download_id ON outbox (download_id)
;;
CREATE INDEX ix_outbox_analysis_id ON outbox (analysis_id)
;;
CREATE INDEX ix_outbox_finished_at ON outbox (state, finished_at)
;;

CREATE TABLE outbox_attempts (
    id            INTEGER       NOT NULL,
    outbox_id     BIGINT        NOT NULL,
    download_id   VARCHAR(36)   NOT NULL,
    analysis_id   VARCHAR(128)  NOT NULL,
    event         VARCHAR(32)   NOT NULL,
    attempt       INTEGER       NOT NULL,
    actor         VARCHAR(128)  NOT NULL,
    started_at    DATETIME      NOT NULL,
    duration_ms   INTEGER       NOT NULL DEFAULT '0',
    bytes         BIGINT        NOT NULL DEFAULT '0',
    outcome       VARCHAR(32)   NOT NULL,
    error_class   VARCHAR(64)   NULL,
    error_message TEXT          NULL,
    object_key    VARCHAR(1024) NULL,
    etag          VARCHAR(128)  NULL,
    reason        TEXT          NULL,
    recorded_at   DATETIME      NOT NULL,
    CONSTRAINT pk_outbox_attempts PRIMARY KEY (id)
)
;;
CREATE INDEX ix_outbox_attempts_download ON outbox_attempts (download_id, id)
;;
CREATE INDEX ix_outbox_attempts_analysis ON outbox_attempts (analysis_id, id)
;;
CREATE INDEX ix_outbox_attempts_recorded_at ON outbox_attempts (recorded_at)
;;
CREATE INDEX ix_outbox_attempts_outcome ON outbox_attempts (outcome, error_class)
