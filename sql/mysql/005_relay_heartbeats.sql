-- clean-my-data schema, version 005: one heartbeat row per relay process, upserted by the relay
-- at most once per second while batches run and every 15 s while idle (relay/heartbeat.py).
-- The auditor dashboard lists them with their last batch. MySQL 8 / MariaDB 10.6+; mirrored by
-- outbox/tables.py. Statements are separated by lines holding only ";;".

CREATE TABLE relay_heartbeats (
    relay_id               VARCHAR(128)  NOT NULL,
    host                   VARCHAR(255)  NOT NULL,
    pid                    INT           NOT NULL,
    version                VARCHAR(64)   NOT NULL,
    staging_volume         VARCHAR(64)   NOT NULL,
    started_at             DATETIME(6)   NOT NULL,
    last_seen_at           DATETIME(6)   NOT NULL,
    last_batch_at          DATETIME(6)   NULL,
    last_batch_claimed     INT           NOT NULL DEFAULT 0,
    last_batch_outcomes    JSON          NULL,
    last_batch_duration_ms INT           NOT NULL DEFAULT 0,
    CONSTRAINT pk_relay_heartbeats PRIMARY KEY (relay_id),
    INDEX ix_relay_heartbeats_last_seen (last_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
