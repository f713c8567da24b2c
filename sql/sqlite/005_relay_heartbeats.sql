-- clean-my-data schema, version 005 (SQLite): one heartbeat row per relay process.
-- The twin of sql/mysql/005_relay_heartbeats.sql; mirrored by outbox/tables.py.
-- Statements are separated by lines holding only ";;" (see outbox/migrations.py).

CREATE TABLE relay_heartbeats (
    relay_id               VARCHAR(128)  NOT NULL,
    host                   VARCHAR(255)  NOT NULL,
    pid                    INTEGER       NOT NULL,
    version                VARCHAR(64)   NOT NULL,
    staging_volume         VARCHAR(64)   NOT NULL,
    started_at             DATETIME      NOT NULL,
    last_seen_at           DATETIME      NOT NULL,
    last_batch_at          DATETIME      NULL,
    last_batch_claimed     INTEGER       NOT NULL DEFAULT 0,
    last_batch_outcomes    JSON          NULL,
    last_batch_duration_ms INTEGER       NOT NULL DEFAULT 0,
    CONSTRAINT pk_relay_heartbeats PRIMARY KEY (relay_id)
)
;;
CREATE INDEX ix_relay_heartbeats_last_seen ON relay_heartbeats (last_seen_at)
