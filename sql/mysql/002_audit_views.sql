-- clean-my-data schema, version 002: audit views for people who read the outbox with SQL.
-- MySQL 8 / MariaDB 10.6+. Applied by `clean-my-data db upgrade` (statements separated by lines
-- holding only ";;"); CREATE OR REPLACE makes it safe to apply twice. The SQLite twin is
-- sql/sqlite/002_audit_views.sql. All datetimes are naive UTC, so ages use UTC_TIMESTAMP().

-- How many downloads / outbox records are in each status, and the oldest change in each.
CREATE OR REPLACE VIEW audit_backlog_by_status AS
SELECT 'downloads' AS source, status, COUNT(*) AS row_count, MIN(updated_at) AS oldest_change_at
FROM downloads
GROUP BY status
UNION ALL
SELECT 'outbox' AS source, state AS status, COUNT(*) AS row_count, MIN(updated_at) AS oldest_change_at
FROM outbox
GROUP BY state
;;

-- One row: the pending outbox backlog, how much of it is due, and the age of the oldest record.
CREATE OR REPLACE VIEW audit_oldest_pending AS
SELECT COUNT(*) AS pending_rows,
       COALESCE(SUM(available_at <= UTC_TIMESTAMP(6)), 0) AS due_rows,
       MIN(created_at) AS oldest_created_at,
       TIMESTAMPDIFF(SECOND, MIN(created_at), UTC_TIMESTAMP(6)) AS oldest_age_seconds
FROM outbox
WHERE state = 'pending'
;;

-- Failed attempts (terminal and retried) grouped by error class, from the attempt history.
CREATE OR REPLACE VIEW audit_failures_by_error_class AS
SELECT COALESCE(error_class, 'unclassified') AS error_class,
       SUM(outcome = 'failed') AS terminal_failures,
       SUM(outcome = 'retry_scheduled') AS retries,
       COUNT(DISTINCT download_id) AS downloads_affected,
       MIN(recorded_at) AS first_seen_at,
       MAX(recorded_at) AS last_seen_at
FROM outbox_attempts
WHERE outcome IN ('failed', 'retry_scheduled')
GROUP BY COALESCE(error_class, 'unclassified')
;;

-- Everything that happened to an analysis: the analysis (its final object's timestamp), each
-- outbox record enqueued, each attempt and operator action.
-- Read with: WHERE analysis_id = ? ORDER BY happened_at, seq.
CREATE OR REPLACE VIEW audit_analysis_timeline AS
SELECT r.analysis_id, r.`timestamp` AS happened_at, 0 AS seq, 'analysed' AS event,
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

-- Pending outbox records whose lease has run out: their relay died or stalled mid-attempt.
-- Another relay takes them over; rows that stay here longer than one lease period are a problem.
CREATE OR REPLACE VIEW audit_expired_leases AS
SELECT id AS outbox_id, download_id, analysis_id, lease_owner, lease_expires_at, attempts,
       TIMESTAMPDIFF(SECOND, lease_expires_at, UTC_TIMESTAMP(6)) AS expired_for_seconds
FROM outbox
WHERE state = 'pending' AND lease_token IS NOT NULL AND lease_expires_at < UTC_TIMESTAMP(6)
