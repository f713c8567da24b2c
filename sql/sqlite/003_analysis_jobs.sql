-- clean-my-data schema, version 003 (SQLite): analysis jobs and API tokens.
-- The twin of sql/mysql/003_analysis_jobs.sql; mirrored by outbox/tables.py.
-- Statements are separated by lines holding only ";;" (see outbox/migrations.py).

CREATE TABLE analysis_jobs (
    id               INTEGER       NOT NULL,
    analysis_id      VARCHAR(128)  NOT NULL,
    input_key        VARCHAR(1024) NOT NULL,
    input_name       VARCHAR(255)  NOT NULL,
    input_size       BIGINT        NOT NULL,
    input_sha256     VARCHAR(64)   NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    attempts         INTEGER       NOT NULL DEFAULT 0,
    max_attempts     INTEGER       NOT NULL,
    lease_token      VARCHAR(36)   NULL,
    lease_owner      VARCHAR(128)  NULL,
    lease_expires_at DATETIME      NULL,
    phase            VARCHAR(32)   NULL,
    progress         DOUBLE        NOT NULL DEFAULT 0,
    error_class      VARCHAR(64)   NULL,
    error_message    TEXT          NULL,
    submitted_by     VARCHAR(128)  NOT NULL,
    submitted_at     DATETIME      NOT NULL,
    available_at     DATETIME      NOT NULL,
    started_at       DATETIME      NULL,
    finished_at      DATETIME      NULL,
    input_deleted_at DATETIME      NULL,
    updated_at       DATETIME      NOT NULL,
    CONSTRAINT pk_analysis_jobs PRIMARY KEY (id),
    CONSTRAINT uq_analysis_jobs_analysis_id UNIQUE (analysis_id),
    CONSTRAINT ck_analysis_jobs_status
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed'))
)
;;
CREATE INDEX ix_analysis_jobs_claim ON analysis_jobs (status, available_at)
;;
CREATE INDEX ix_analysis_jobs_lease ON analysis_jobs (status, lease_expires_at)
;;
CREATE INDEX ix_analysis_jobs_finished ON analysis_jobs (status, finished_at)
;;
CREATE INDEX ix_analysis_jobs_submitted_by ON analysis_jobs (submitted_by, id)
;;
CREATE TABLE api_tokens (
    id           INTEGER       NOT NULL,
    name         VARCHAR(128)  NOT NULL,
    role         VARCHAR(16)   NOT NULL,
    token_sha256 VARCHAR(64)   NOT NULL,
    created_at   DATETIME      NOT NULL,
    revoked_at   DATETIME      NULL,
    CONSTRAINT pk_api_tokens PRIMARY KEY (id),
    CONSTRAINT uq_api_tokens_name UNIQUE (name),
    CONSTRAINT uq_api_tokens_token_sha256 UNIQUE (token_sha256),
    CONSTRAINT ck_api_tokens_role CHECK (role IN ('analyst', 'auditor', 'admin'))
)
