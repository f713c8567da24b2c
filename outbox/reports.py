"""Reading the stored final object back, and keeping its download entries in step with the rows.

The ``downloads`` rows are the truth for statuses (the relay flips them). ``load_report`` overlays
them on the stored JSON; ``update_download_entries`` is what the relay calls inside its own flip
transaction so that the stored JSON agrees with the rows too (invariant 3): every report concerned
is read and locked by one statement and written back by as few as fit in
``ENTRY_WRITE_BATCH_BYTES``. ``update_download_entry`` does the same for a single entry.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from domain.errors import UserFacingError
from outbox.clock import utcnow
from outbox.db import connect_for_reading
from outbox.jsontext import dumps_json
from outbox.tables import UPLOAD_FAILED, analysis_reports, downloads

ENTRY_FIELDS: Final = ("download_id", "file_name", "format", "size_bytes", "sha256", "s3_path")
# Reports written back by one UPDATE hold at most this much JSON text (a single bigger report
# still goes alone): well under max_allowed_packet (16 MiB on MariaDB 10.11, 64 MiB on MySQL 8).
ENTRY_WRITE_BATCH_BYTES: Final = 4 * 1024 * 1024


@dataclass(frozen=True)
class EntryChange:
    """The new state of one download entry inside its analysis's stored report."""

    analysis_id: str
    download_id: str
    status: str
    error: str | None = None  # kept on the entry; cleared when None and not upload_failed
    s3_path: str | None = None  # replaced when given


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
    return _merge_in_place(copy.deepcopy(dict(final_object)), entries)


def _merge_in_place(merged: dict[str, Any], entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
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
    with connect_for_reading(engine) as conn:
        stored = conn.execute(
            sa.select(analysis_reports.c.report).where(
                analysis_reports.c.analysis_id == analysis_id
            )
        ).scalar_one_or_none()
        if stored is None:
            return None
        rows = read_download_rows(conn, analysis_id)
    # ``stored`` was parsed for this call alone: merged without the copy (a 3 MB final object
    # took 1 s to deep-copy)
    return _merge_in_place(dict(stored), (build_download_entry(row) for row in rows))


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

    Runs in the caller's transaction (see :func:`update_download_entries`). Returns False when
    the report or the entry does not exist (nothing is written then).
    """
    change = EntryChange(analysis_id, download_id, status, error=error, s3_path=s3_path)
    return bool(update_download_entries(conn, [change]))


def apply_entry_change(report: Mapping[str, Any], change: EntryChange) -> bool:
    """Change the matching entry of ``report["report"]["downloads"]`` in place; False when
    there is none."""
    entries = report.get("report", {}).get("downloads")
    if not isinstance(entries, list):
        return False
    for entry in entries:
        if isinstance(entry, dict) and entry.get("download_id") == change.download_id:
            entry["status"] = change.status
            if change.error is not None:
                entry["error"] = change.error
            elif change.status != UPLOAD_FAILED:
                entry.pop("error", None)
            if change.s3_path is not None:
                entry["s3_path"] = change.s3_path
            return True
    return False


def update_download_entries(conn: sa.Connection, changes: Iterable[EntryChange]) -> set[str]:
    """Apply ``changes`` to the stored reports; returns the download ids whose entry was found.

    Runs in the caller's transaction. Every report concerned is read by ONE ``SELECT ... FOR
    UPDATE`` in ``analysis_id`` order (the lock order concurrent relays and the transformer
    share; a no-op on SQLite, where ``BEGIN IMMEDIATE`` already serialises writers), changed in
    memory and written back by one ``UPDATE ... SET report = CASE analysis_id ...`` per
    ``ENTRY_WRITE_BATCH_BYTES`` of JSON. A report none of whose entries was found is not written.
    """
    by_analysis: dict[str, list[EntryChange]] = {}
    for change in changes:
        by_analysis.setdefault(change.analysis_id, []).append(change)
    if not by_analysis:
        return set()
    rows = conn.execute(
        sa.select(analysis_reports.c.analysis_id, analysis_reports.c.report)
        .where(analysis_reports.c.analysis_id.in_(sorted(by_analysis)))
        .order_by(analysis_reports.c.analysis_id)
        .with_for_update()
    ).all()
    found: set[str] = set()
    rewritten: dict[str, str] = {}
    for analysis_id, stored in rows:
        if not isinstance(stored, dict):
            continue
        changed = [c for c in by_analysis[analysis_id] if apply_entry_change(stored, c)]
        if changed:
            found.update(change.download_id for change in changed)
            rewritten[analysis_id] = dumps_json(stored)
    for batch in _split_by_size(rewritten, ENTRY_WRITE_BATCH_BYTES):
        _write_reports(conn, batch)
    return found


def _split_by_size(texts: Mapping[str, str], budget: int) -> Iterable[dict[str, str]]:
    batch: dict[str, str] = {}
    size = 0
    for key, text in texts.items():
        length = len(text.encode("utf-8"))
        if batch and size + length > budget:
            yield batch
            batch, size = {}, 0
        batch[key] = text
        size += length
    if batch:
        yield batch


def _write_reports(conn: sa.Connection, texts: Mapping[str, str]) -> None:
    """One UPDATE for several reports (JSON text already serialised, so it is sized)."""
    ids: Sequence[str] = list(texts)
    new_report = sa.case(
        {analysis_id: sa.literal(text, sa.UnicodeText()) for analysis_id, text in texts.items()},
        value=analysis_reports.c.analysis_id,
    )
    conn.execute(
        analysis_reports.update()
        .where(analysis_reports.c.analysis_id.in_(ids))
        .values(report=new_report, updated_at=utcnow())
    )
