-- clean-my-data schema, version 003: analysis jobs (the queue between the API and the workers)
-- and API tokens. MySQL 8 / MariaDB 10.6+; mirrored by outbox/tables.py.
-- Statements are separated by lines holding only ";;" (see outbox/migrations.py).

-- One row per analysis submitted for a worker. status: queued -> running -> succeeded | failed
-- (running -> queued again when a lease expires or a worker releases the job).
-- A job is claimable when status = 'queued', or 'running' with an expired lease.
-- lease_token fences the worker: its commit checks the token inside the same transaction.
CREATE TABLE analysis_jobs (
    id               BIGINT        NOT NULL AUTO_INCREMENT,
    analysis_id      VARCHAR(128)  NOT NULL,
    input_key        VARCHAR(1024) NOT NULL,
    input_name       VARCHAR(255)  NOT NULL,
    input_size       BIGINT        NOT NULL,
    input_sha256     CHAR(64)      NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    attempts         INT           NOT NULL DEFAULT 0,
    max_attempts     INT           NOT NULL,
    lease_token      CHAR(36)      NULL,
    lease_owner      VARCHAR(128)  NULL,
    lease_expires_at DATETIME(6)   NULL,
    phase            VARCHAR(32)   NULL,
    progress         DOUBLE        NOT NULL DEFAULT 0,
    error_class      VARCHAR(64)   NULL,
    error_message    TEXT          NULL,
    submitted_by     VARCHAR(128)  NOT NULL,
    submitted_at     DATETIME(6)   NOT NULL,
    available_at     DATETIME(6)   NOT NULL,
    started_at       DATETIME(6)   NULL,
    finished_at      DATETIME(6)   NULL,
    input_deleted_at DATETIME(6)   NULL,
    updated_at       DATETIME(6)   NOT NULL,
    CONSTRAINT pk_analysis_jobs PRIMARY KEY (id),
    CONSTRAINT uq_analysis_jobs_analysis_id UNIQUE (analysis_id),
    CONSTRAINT ck_analysis_jobs_status
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    INDEX ix_analysis_jobs_claim (status, available_at),
    INDEX ix_analysis_jobs_lease (status, lease_expires_at),
    INDEX ix_analysis_jobs_finished (status, finished_at),
    INDEX ix_analysis_jobs_submitted_by (submitted_by, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;;

-- API tokens: only the sha256 of each token is stored. role: analyst | auditor | admin.
CREATE TABLE api_tokens (
    id           BIGINT        NOT NULL AUTO_INCREMENT,
    name         VARCHAR(128)  NOT NULL,
    role         VARCHAR(16)   NOT NULL,
    token_sha256 CHAR(64)      NOT NULL,
    created_at   DATETIME(6)   NOT NULL,
    revoked_at   DATETIME(6)   NULL,
    CONSTRAINT pk_api_tokens PRIMARY KEY (id),
    CONSTRAINT uq_api_tokens_name UNIQUE (name),
    CONSTRAINT uq_api_tokens_token_sha256 UNIQUE (token_sha256),
    CONSTRAINT ck_api_tokens_role CHECK (role IN ('analyst', 'auditor', 'admin'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
