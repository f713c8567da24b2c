"""The audit views' names. Their definitions are schema files, one per dialect:
``sql/mysql/002_audit_views.sql`` and ``sql/sqlite/002_audit_views.sql`` (same names and
columns; only the date arithmetic differs), created by ``db upgrade`` like every table.
"""

from __future__ import annotations

from typing import Final

VIEW_NAMES: Final = (
    "audit_backlog_by_status",
    "audit_oldest_pending",
    "audit_failures_by_error_class",
    "audit_analysis_timeline",
    "audit_expired_leases",
)
