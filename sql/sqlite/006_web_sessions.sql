-- clean-my-data schema, version 006 (SQLite): browser sessions of the web pages.
-- The twin of sql/mysql/006_web_sessions.sql; mirrored by outbox/tables.py.
-- Statements are separated by lines holding only ";;" (see outbox/migrations.py).

CREATE TABLE web_sessions (
    session_sha256 VARCHAR(64)  NOT NULL,
    token_sha256   VARCHAR(64)  NOT NULL,
    csrf           VARCHAR(64)  NOT NULL,
    created_at     DATETIME     NOT NULL,
    expires_at     DATETIME     NOT NULL,
    CONSTRAINT pk_web_sessions PRIMARY KEY (session_sha256)
)
;;
CREATE INDEX ix_web_sessions_token ON web_sessions (token_sha256)
;;
CREATE INDEX ix_web_sessions_expires ON web_sessions (expires_at)
