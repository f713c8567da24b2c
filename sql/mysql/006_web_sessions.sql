-- clean-my-data schema, version 006: browser sessions of the web pages, shared by every `serve`
-- process and kept across restarts. The cookie holds a random id; only its sha256 is stored.
-- A session belongs to the API token it was opened with (token_sha256): revoking the token
-- deletes its sessions, and a lookup joins api_tokens, so a revoked token never authenticates.
-- MySQL 8 / MariaDB 10.6+; mirrored by outbox/tables.py. Statements are separated by ";;" lines.

CREATE TABLE web_sessions (
    session_sha256 CHAR(64)     NOT NULL,
    token_sha256   CHAR(64)     NOT NULL,
    csrf           VARCHAR(64)  NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    expires_at     DATETIME(6)  NOT NULL,
    CONSTRAINT pk_web_sessions PRIMARY KEY (session_sha256),
    INDEX ix_web_sessions_token (token_sha256),
    INDEX ix_web_sessions_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
