"""Read-only queries about the queue: the backlog gauge and the orphan sweep's live set."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from outbox.clock import utcnow
from outbox.tables import OUTBOX_PENDING, downloads, outbox


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_seconds: float


def measure_backlog(engine: sa.Engine, volume: str) -> Backlog:
    with engine.connect() as conn:
        count, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
                outbox.c.state == OUTBOX_PENDING, outbox.c.staging_volume == volume
            )
        ).one()
    age = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    return Backlog(int(count), age)


def list_live_staged_paths(engine: sa.Engine) -> set[str]:
    """Staged file names still needed: those of downloads with a pending outbox record, of
    every volume (names are unique per run, so another volume's name never shadows ours)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(downloads.c.staged_path)
            .join(outbox, outbox.c.download_id == downloads.c.download_id)
            .where(outbox.c.state == OUTBOX_PENDING)
        ).scalars()
        return {str(name) for name in rows}
