"""Claiming due outbox rows under a fenced lease, renewing and releasing leases.

The lease mechanism (``SELECT ... FOR UPDATE SKIP LOCKED`` and a fenced token in one short
transaction; ``BEGIN IMMEDIATE`` on SQLite) is :mod:`outbox.leases`, shared with the analysis
workers. Rows are taken in ``available_at, id`` order; never "id greater than the last seen":
rows commit out of order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from outbox.clock import utcnow
from outbox.leases import LeasedTable, lock_due
from outbox.tables import EVENT_UPLOAD, OUTBOX_PENDING, OUTCOME_ABANDONED, outbox, outbox_attempts
from relay.records import ClaimedRecord

OUTBOX_LEASES = LeasedTable(outbox)

ABANDONED_REASON = (
    "the relay holding the lease stopped renewing it (crashed, killed or cut off) before "
    "recording this attempt; the record was claimed again"
)


def _due(volume: str, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.state == OUTBOX_PENDING,
        outbox.c.staging_volume == volume,
        outbox.c.available_at <= now,
        OUTBOX_LEASES.lease_free(now),
    )


def build_claim_query(volume: str, now: datetime, batch_size: int) -> sa.Select[Any]:
    """Due rows of ``volume`` in ``available_at, id`` order, locked, skipping locked ones."""
    return lock_due(
        sa.select(
            outbox.c.id,
            outbox.c.download_id,
            outbox.c.analysis_id,
            outbox.c.attempts,
            outbox.c.payload,
            outbox.c.lease_owner,
            outbox.c.lease_expires_at,
            outbox.c.updated_at,
        )
        .where(_due(volume, now))
        .order_by(outbox.c.available_at, outbox.c.id)
        .limit(batch_size)
    )


def claim_batch(
    engine: sa.Engine,
    *,
    volume: str,
    owner: str,
    batch_size: int,
    lease_seconds: int,
) -> list[ClaimedRecord]:
    """Lease up to ``batch_size`` due rows of ``volume``; attempts is incremented on each."""
    now = utcnow()
    with engine.begin() as conn:
        rows = conn.execute(build_claim_query(volume, now, batch_size)).all()
        if not rows:
            return []
        _record_abandoned_attempts(conn, rows, now)
        token = OUTBOX_LEASES.grant(
            conn, [row.id for row in rows], owner=owner, lease_seconds=lease_seconds, now=now
        )
    return [
        ClaimedRecord(
            outbox_id=int(row.id),
            download_id=str(row.download_id),
            analysis_id=str(row.analysis_id),
            lease_token=token,
            attempt=int(row.attempts) + 1,
            payload=dict(row.payload),
        )
        for row in rows
    ]


def _record_abandoned_attempts(
    conn: sa.Connection, rows: Sequence[sa.Row[Any]], now: datetime
) -> None:
    """A due row still holding an expired lease was claimed by a relay that never recorded the
    attempt (a finished attempt clears the expiry): append that attempt to the history now, so
    every counted attempt has its row (invariant 6)."""
    abandoned = [
        {
            "outbox_id": row.id,
            "download_id": row.download_id,
            "analysis_id": row.analysis_id,
            "event": EVENT_UPLOAD,
            "attempt": row.attempts,
            "actor": str(row.lease_owner or "unknown")[:128],
            "started_at": row.updated_at,  # the last claim or renewal: its last sign of life
            "duration_ms": 0,
            "bytes": 0,
            "outcome": OUTCOME_ABANDONED,
            "error_class": "lease_expired",
            "error_message": f"lease expired at {row.lease_expires_at:%Y-%m-%dT%H:%M:%SZ}",
            "reason": ABANDONED_REASON,
            "recorded_at": now,
        }
        for row in rows
        if row.lease_expires_at is not None and row.attempts > 0
    ]
    if abandoned:
        conn.execute(outbox_attempts.insert(), abandoned)


_STILL_PENDING = outbox.c.state == OUTBOX_PENDING


def renew_leases(
    engine: sa.Engine, records: Iterable[ClaimedRecord], lease_seconds: int
) -> list[ClaimedRecord]:
    """Extend the leases still held; returns the records whose lease was lost."""
    lost: list[ClaimedRecord] = []
    now = utcnow()
    with engine.begin() as conn:
        for record in records:
            if not OUTBOX_LEASES.renew(
                conn,
                record.outbox_id,
                record.lease_token,
                lease_seconds=lease_seconds,
                now=now,
                condition=_STILL_PENDING,
            ):
                lost.append(record)
    return lost


def release_leases(engine: sa.Engine, records: Iterable[ClaimedRecord]) -> int:
    """Give back leases of records never attempted (shutdown): due again at once, the
    attempt counted at claim time is taken back."""
    released = 0
    now = utcnow()
    with engine.begin() as conn:
        for record in records:
            released += OUTBOX_LEASES.release(
                conn, record.outbox_id, record.lease_token, now=now, condition=_STILL_PENDING
            )
    return released
