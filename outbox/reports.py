"""Reading the stored final object back, and keeping its download entries in step with the rows.

The ``downloads`` rows are the truth for statuses (the relay flips them). ``load_report`` overlays
them on the stored JSON; ``update_download_entry`` is what the relay calls inside its own flip
transaction so that the stored JSON agrees with the rows too (invariant 3).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Final

import sqlalchemy as sa

from domain.errors import UserFacingError
from outbox.clock import utcnow
from outbox.tables import UPLOAD_FAILED, analysis_reports, downloads

ENTRY_FIELDS: Final = ("download_id", "file_name", "format", "size_bytes", "sha256", "s3_path")


class UnknownAnalysisError(UserFacingError):
    """No report is stored under the analysis id."""

    exit_code = 1


def build_download_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """The final object's entry for one ``downloads`` row (no ``content_base64``, no URL)."""
    entry: dict[str, Any] = {name: row[name] for name in ENTRY_FIELDS}
    entry["size_bytes"] = int(entry["size_bytes"])
    entry["status"] = row["status"]
    if row["status"] == UPLOAD_FAILED and row.get("last_error"):
        entry["error"] = row["last_error"]
    return entry


def merge_download_entries(
    final_object: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """A copy of ``final_object`` whose ``report.downloads`` holds ``entries``: an entry with the
    same ``download_id`` is replaced in place, a new one is appended, others stay."""
    merged = copy.deepcopy(dict(final_object))
    report = merged.setdefault("report", {})
    current = report.get("downloads")
    existing: list[dict[str, Any]] = list(current) if isinstance(current, list) else []
    index = {e.get("download_id"): i for i, e in enumerate(existing) if isinstance(e, dict)}
    for entry in entries:
        position = index.get(entry["download_id"])
        if position is None:
            index[entry["download_id"]] = len(existing)
            existing.append(dict(entry))
        else:
            existing[position] = dict(entry)
    report["downloads"] = existing
    return merged


def read_download_rows(conn: sa.Connection, analysis_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(downloads)
        .where(downloads.c.analysis_id == analysis_id)
        .order_by(downloads.c.created_at, downloads.c.download_id)
    )
    return [dict(row._mapping) for row in rows]


def load_report(engine: sa.Engine, analysis_id: str) -> dict[str, Any] | None:
    """The stored final object with the current download statuses; None for an unknown id."""
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(analysis_reports.c.report).where(
                analysis_reports.c.analysis_id == analysis_id
            )
        ).scalar_one_or_none()
        if stored is None:
            return None
        rows = read_download_rows(conn, analysis_id)
    return merge_download_entries(stored, (build_download_entry(row) for row in rows))


def require_report(engine: sa.Engine, analysis_id: str) -> dict[str, Any]:
    """``load_report`` or a one-line :class:`UnknownAnalysisError`."""
    report = load_report(engine, analysis_id)
    if report is None:
        raise UnknownAnalysisError(f"no report stored for analysis id {analysis_id!r}")
    return report


def update_download_entry(
    conn: sa.Connection,
    analysis_id: str,
    download_id: str,
    status: str,
    *,
    error: str | None = None,
    s3_path: str | None = None,
) -> bool:
    """Set one download entry's ``status`` (and ``error`` / ``s3_path``) in the stored JSON.

    Runs in the caller's transaction: the report row is read ``FOR UPDATE`` (a no-op on SQLite,
    where ``BEGIN IMMEDIATE`` already serialises writers), modified and written back. Returns
    False when the report or the entry does not exist (nothing is written then).
    """
    stored = conn.execute(
        sa.select(analysis_reports.c.report)
        .where(analysis_reports.c.analysis_id == analysis_id)
        .with_for_update()
    ).scalar_one_or_none()
    if not isinstance(stored, dict):
        return False
    entries = stored.get("report", {}).get("downloads")
    if not isinstance(entries, list):
        return False
    for entry in entries:
        if isinstance(entry, dict) and entry.get("download_id") == download_id:
            entry["status"] = status
            if error is not None:
                entry["error"] = error
            elif status != UPLOAD_FAILED:
                entry.pop("error", None)
            if s3_path is not None:
                entry["s3_path"] = s3_path
            break
    else:
        return False
    conn.execute(
        analysis_reports.update()
        .where(analysis_reports.c.analysis_id == analysis_id)
        .values(report=stored, updated_at=utcnow())
    )
    return True
