"""Read the append-only attempt history (``outbox_attempts``), oldest first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outbox import tables as t

_PAGE_SIZE = 1000


@dataclass(frozen=True)
class HistoryFilter:
    analysis_id: str | None = None
    download_id: str | None = None
    status: str | None = None  # the download's current status: pending|uploaded|upload_failed
    outcome: str | None = None  # the attempt's outcome: failed, retry_scheduled, ...
    since: datetime | None = None  # naive UTC; attempts recorded at or after this
    after_id: int = 0  # keyset paging: only rows with a larger id


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    recorded_at: datetime
    started_at: datetime
    analysis_id: str
    download_id: str
    outbox_id: int
    event: str
    attempt: int
    actor: str
    outcome: str
    error_class: str | None
    error_message: str | None
    bytes: int
    duration_ms: int
    object_key: str | None
    etag: str | None
    reason: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "recorded_at": _iso(self.recorded_at),
            "started_at": _iso(self.started_at),
            "analysis_id": self.analysis_id,
            "download_id": self.download_id,
            "outbox_id": self.outbox_id,
            "event": self.event,
            "attempt": self.attempt,
            "actor": self.actor,
            "outcome": self.outcome,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "bytes": self.bytes,
            "duration_ms": self.duration_ms,
            "object_key": self.object_key,
            "etag": self.etag,
            "reason": self.reason,
        }


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


def _conditions(flt: HistoryFilter) -> list[sa.ColumnElement[bool]]:
    h = t.outbox_attempts
    conditions: list[sa.ColumnElement[bool]] = []
    if flt.analysis_id is not None:
        conditions.append(h.c.analysis_id == flt.analysis_id)
    if flt.download_id is not None:
        conditions.append(h.c.download_id == flt.download_id)
    if flt.since is not None:
        conditions.append(h.c.recorded_at >= flt.since)
    if flt.status is not None:
        # every attempt of the downloads currently in that status
        in_status = sa.select(t.downloads.c.download_id).where(t.downloads.c.status == flt.status)
        conditions.append(h.c.download_id.in_(in_status))
    if flt.outcome is not None:
        conditions.append(h.c.outcome == flt.outcome)
    return conditions


def iter_history(engine: Engine, flt: HistoryFilter) -> Iterator[HistoryEntry]:
    """Every matching history row in insertion order (id order), read in pages."""
    h = t.outbox_attempts
    conditions = _conditions(flt)
    last_id = flt.after_id
    while True:
        query = sa.select(h).where(h.c.id > last_id, *conditions).order_by(h.c.id).limit(_PAGE_SIZE)
        with engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        for row in rows:
            yield HistoryEntry(
                id=int(row["id"]),
                recorded_at=row["recorded_at"],
                started_at=row["started_at"],
                analysis_id=row["analysis_id"],
                download_id=row["download_id"],
                outbox_id=int(row["outbox_id"]),
                event=row["event"],
                attempt=int(row["attempt"]),
                actor=row["actor"],
                outcome=row["outcome"],
                error_class=row["error_class"],
                error_message=row["error_message"],
                bytes=int(row["bytes"]),
                duration_ms=int(row["duration_ms"]),
                object_key=row["object_key"],
                etag=row["etag"],
                reason=row["reason"],
            )
        if len(rows) < _PAGE_SIZE:
            return
        last_id = int(rows[-1]["id"])


OUTCOMES = (
    t.OUTCOME_UPLOADED,
    t.OUTCOME_ALREADY_PRESENT,
    t.OUTCOME_RETRY,
    t.OUTCOME_FAILED,
    t.OUTCOME_LEASE_LOST,
    t.OUTCOME_ABANDONED,
    t.OUTCOME_REQUEUED,
    t.OUTCOME_SUPERSEDED,
)
