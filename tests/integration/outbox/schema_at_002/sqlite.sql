-- An SQLite database as `db upgrade` created it at version 002 (tables from the SQLAlchemy
-- metadata, views from Python, the MySQL files' checksums recorded), for the upgrade test.

CREATE TABLE schema_migrations (
	version VARCHAR(16) NOT NULL,
	name VARCHAR(255) NOT NULL,
	checksum VARCHAR(64) NOT NULL,
	applied_at DATETIME NOT NULL,
	PRIMARY KEY (version)
)
;;
CREATE TABLE analysis_reports (
	id INTEGER NOT NULL,
	analysis_id VARCHAR(128) NOT NULL,
	tool VARCHAR(64) NOT NULL,
	status VARCHAR(32) NOT NULL,
	timestamp DATETIME NOT NULL,
	execution_time_ms INTEGER NOT NULL,
	report JSON NOT NULL,
	report_trimmed BOOLEAN DEFAULT '0' NOT NULL,
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_analysis_reports PRIMARY KEY (id),
	CONSTRAINT uq_analysis_reports_analysis_id UNIQUE (analysis_id)
)
;;
CREATE TABLE outbox (
	id INTEGER NOT NULL,
	event_id VARCHAR(36) NOT NULL,
	aggregatetype VARCHAR(64) NOT NULL,
	aggregateid VARCHAR(128) NOT NULL,
	type VARCHAR(64) NOT NULL,
	payload JSON NOT NULL,
	download_id VARCHAR(36) NOT NULL,
	analysis_id VARCHAR(128) NOT NULL,
	staging_volume VARCHAR(64) NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER DEFAULT '0' NOT NULL,
	available_at DATETIME NOT NULL,
	lease_token VARCHAR(36),
	lease_owner VARCHAR(128),
	lease_expires_at DATETIME,
	last_error_class VARCHAR(64),
	last_error TEXT,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	finished_at DATETIME,
	CONSTRAINT pk_outbox PRIMARY KEY (id),
	CONSTRAINT uq_outbox_event_id UNIQUE (event_id),
	CONSTRAINT ck_outbox_state CHECK (state IN ('pending', 'done', 'dead', 'superseded'))
)
;;
CREATE INDEX ix_outbox_analysis_id ON outbox (analysis_id)
;;
CREATE INDEX ix_outbox_download_id ON outbox (download_id)
;;
CREATE INDEX ix_outbox_finished_at ON outbox (state, finished_at)
;;
CREATE INDEX ix_outbox_claim ON outbox (state, staging_volume, available_at)
;;
CREATE INDEX ix_outbox_lease ON outbox (state, lease_expires_at)
;;
CREATE TABLE outbox_attempts (
	id INTEGER NOT NULL,
	outbox_id BIGINT NOT NULL,
	download_id VARCHAR(36) NOT NULL,
	analysis_id VARCHAR(128) NOT NULL,
	event VARCHAR(32) NOT NULL,
	attempt INTEGER NOT NULL,
	actor VARCHAR(128) NOT NULL,
	started_at DATETIME NOT NULL,
	duration_ms INTEGER DEFAULT '0' NOT NULL,
	bytes BIGINT DEFAULT '0' NOT NULL,
	outcome VARCHAR(32) NOT NULL,
	error_class VARCHAR(64),
	error_message TEXT,
	object_key VARCHAR(1024),
	etag VARCHAR(128),
	reason TEXT,
	recorded_at DATETIME NOT NULL,
	CONSTRAINT pk_outbox_attempts PRIMARY KEY (id)
)
;;
CREATE INDEX ix_outbox_attempts_recorded_at ON outbox_attempts (recorded_at)
;;
CREATE INDEX ix_outbox_attempts_download ON outbox_attempts (download_id, id)
;;
CREATE INDEX ix_outbox_attempts_outcome ON outbox_attempts (outcome, error_class)
;;
CREATE INDEX ix_outbox_attempts_analysis ON outbox_attempts (analysis_id, id)
;;
CREATE TABLE downloads (
	download_id VARCHAR(36) NOT NULL,
	analysis_id VARCHAR(128) NOT NULL,
	file_name VARCHAR(255) NOT NULL,
	format VARCHAR(32) NOT NULL,
	size_bytes BIGINT NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	s3_path VARCHAR(1024) NOT NULL,
	object_key VARCHAR(1024) NOT NULL,
	staged_path VARCHAR(1024) NOT NULL,
	staging_volume VARCHAR(64) NOT NULL,
	presigned_url TEXT,
	status VARCHAR(32) NOT NULL,
	last_error TEXT,
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_downloads PRIMARY KEY (download_id),
	CONSTRAINT fk_downloads_analysis_id FOREIGN KEY(analysis_id) REFERENCES analysis_reports (analysis_id) ON DELETE CASCADE,
	CONSTRAINT ck_downloads_status CHECK (status IN ('pending', 'uploaded', 'upload_failed')),
	CONSTRAINT ck_downloads_format CHECK (format IN ('csv', 'xlsx', 'json'))
)
;;
CREATE INDEX ix_downloads_analysis_id ON downloads (analysis_id)
;;
CREATE INDEX ix_downloads_status_updated ON downloads (status, updated_at)
;;
CREATE VIEW audit_backlog_by_status AS SELECT 'downloads' AS source, status, COUNT(*) AS row_count, MIN(updated_at) AS oldest_change_at
FROM downloads
GROUP BY status
UNION ALL
SELECT 'outbox' AS source, state AS status, COUNT(*) AS row_count,
       MIN(updated_at) AS oldest_change_at
FROM outbox
GROUP BY state
;;
CREATE VIEW audit_oldest_pending AS SELECT COUNT(*) AS pending_rows,
       COALESCE(SUM(julianday(available_at) <= julianday('now')), 0) AS due_rows,
       MIN(created_at) AS oldest_created_at,
       CAST(ROUND((julianday('now') - julianday(MIN(created_at))) * 86400) AS INTEGER) AS oldest_age_seconds
FROM outbox
WHERE state = 'pending'
;;
CREATE VIEW audit_failures_by_error_class AS SELECT COALESCE(error_class, 'unclassified') AS error_class,
       SUM(outcome = 'failed') AS terminal_failures,
       SUM(outcome = 'retry_scheduled') AS retries,
       COUNT(DISTINCT download_id) AS downloads_affected,
       MIN(recorded_at) AS first_seen_at,
       MAX(recorded_at) AS last_seen_at
FROM outbox_attempts
WHERE outcome IN ('failed', 'retry_scheduled')
GROUP BY COALESCE(error_class, 'unclassified')
;;
CREATE VIEW audit_analysis_timeline AS SELECT r.analysis_id, r.`timestamp` AS happened_at, 0 AS seq, 'analysed' AS event,
       NULL AS download_id, NULL AS file_name, NULL AS attempt, NULL AS actor,
       r.status AS outcome, NULL AS error_class, NULL AS error_message, NULL AS object_key
FROM analysis_reports r
UNION ALL
SELECT o.analysis_id, o.created_at, 0, 'enqueued',
       o.download_id, d.file_name, o.attempts, NULL,
       o.state, o.last_error_class, o.last_error, NULL
FROM outbox o LEFT JOIN downloads d ON d.download_id = o.download_id
UNION ALL
SELECT a.analysis_id, a.recorded_at, a.id, a.event,
       a.download_id, d.file_name, a.attempt, a.actor,
       a.outcome, a.error_class, a.error_message, a.object_key
FROM outbox_attempts a LEFT JOIN downloads d ON d.download_id = a.download_id
;;
CREATE VIEW audit_expired_leases AS SELECT id AS outbox_id, download_id, analysis_id, lease_owner, lease_expires_at, attempts,
       CAST(ROUND((julianday('now') - julianday(lease_expires_at)) * 86400) AS INTEGER) AS expired_for_seconds
FROM outbox
WHERE state = 'pending' AND lease_token IS NOT NULL
  AND julianday(lease_expires_at) < julianday('now')
;;
INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ('001', 'core_tables', '22a66de8b746fabe6e85888a52ea60e23c0a8480225776f92d1ffccf3f4b4833', '2026-01-01 00:00:00.000000')
;;
INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ('002', 'audit_views', '7c2df960ed0a30fb7146c29aa5d2248b7965dc59255efca419db54e7f48d1c32', '2026-01-01 00:00:00.000000')
