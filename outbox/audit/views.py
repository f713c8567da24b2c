"""The audit views on SQLite (the MySQL originals are ``sql/002_audit_views.sql``).

Same names and columns as the MySQL views; only the date arithmetic differs (julianday).
``db upgrade`` on SQLite calls :func:`create_sqlite_views` after creating the tables.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_NOW: Final = "julianday('now')"
_SECONDS_SINCE: Final = "CAST(ROUND(({now} - julianday({col})) * 86400) AS INTEGER)"

SQLITE_VIEWS: Final[dict[str, str]] = {
    "audit_backlog_by_status": """
SELECT 'downloads' AS source, status, COUNT(*) AS row_count, MIN(updated_at) AS oldest_change_at
FROM downloads
GROUP BY status
UNION ALL
SELECT 'outbox' AS source, state AS status, COUNT(*) AS row_count,
       MIN(updated_at) AS oldest_change_at
FROM outbox
GROUP BY state
""",
    "audit_oldest_pending": f"""
SELECT COUNT(*) AS pending_rows,
       COALESCE(SUM(julianday(available_at) <= {_NOW}), 0) AS due_rows,
       MIN(created_at) AS oldest_created_at,
       {_SECONDS_SINCE.format(now=_NOW, col="MIN(created_at)")} AS oldest_age_seconds
FROM outbox
WHERE state = 'pending'
""",
    "audit_failures_by_error_class": """
SELECT COALESCE(error_class, 'unclassified') AS error_class,
       SUM(outcome = 'failed') AS terminal_failures,
       SUM(outcome = 'retry_scheduled') AS retries,
       COUNT(DISTINCT download_id) AS downloads_affected,
       MIN(recorded_at) AS first_seen_at,
       MAX(recorded_at) AS last_seen_at
FROM outbox_attempts
WHERE outcome IN ('failed', 'retry_scheduled')
GROUP BY COALESCE(error_class, 'unclassified')
""",
    "audit_analysis_timeline": """
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
""",
    "audit_expired_leases": f"""
SELECT id AS outbox_id, download_id, analysis_id, lease_owner, lease_expires_at, attempts,
       {_SECONDS_SINCE.format(now=_NOW, col="lease_expires_at")} AS expired_for_seconds
FROM outbox
WHERE state = 'pending' AND lease_token IS NOT NULL
  AND julianday(lease_expires_at) < {_NOW}
""",
}

VIEW_NAMES: Final = tuple(SQLITE_VIEWS)


def create_sqlite_views(conn: Connection) -> None:
    """(Re)create every audit view; safe to run twice. Call inside the upgrade transaction."""
    for name, body in SQLITE_VIEWS.items():
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE VIEW {name} AS {body.strip()}"))
