"""Claiming due outbox rows under a fenced lease, renewing and releasing leases.

MySQL 8 / MariaDB 10.6+: ``SELECT ... FOR UPDATE SKIP LOCKED`` in one short transaction, so
concurrent relays never wait on, nor take, each other's rows. SQLite (embedded, one relay): the
engine opens every transaction with ``BEGIN IMMEDIATE`` (``outbox.db``), which serialises
writers, and ``FOR UPDATE`` is not rendered. Rows are taken in ``available_at, id`` order;
never "id greater than the last seen": rows commit out of order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from outbox.clock import utcnow
from outbox.tables import EVENT_UPLOAD, OUTBOX_PENDING, OUTCOME_ABANDONED, outbox, outbox_attempts
from relay.records import ClaimedRecord

ABANDONED_REASON = (
    "the relay holding the lease stopped renewing it (crashed, killed or cut off) before "
    "recording this attempt; the record was claimed again"
)


def _due(volume: str, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.state == OUTBOX_PENDING,
        outbox.c.staging_volume == volume,
        outbox.c.available_at <= now,
        sa.or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now),
    )


def build_claim_query(volume: str, now: datetime, batch_size: int) -> sa.Select[Any]:
    """Due rows of ``volume`` in ``available_at, id`` order, locked, skipping locked ones."""
    return (
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
        .with_for_update(skip_locked=True)
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
    token = str(uuid.uuid4())
    with engine.begin() as conn:
        rows = conn.execute(build_claim_query(volume, now, batch_size)).all()
        if not rows:
            return []
        _record_abandoned_attempts(conn, rows, now)
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_([row.id for row in rows]))
            .values(
                lease_token=token,
                lease_owner=owner[:128],
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=outbox.c.attempts + 1,
                updated_at=now,
            )
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


def _held(record: ClaimedRecord) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.id == record.outbox_id,
        outbox.c.lease_token == record.lease_token,
        outbox.c.state == OUTBOX_PENDING,
        outbox.c.lease_expires_at.is_not(None),
    )


def renew_leases(
    engine: sa.Engine, records: Iterable[ClaimedRecord], lease_seconds: int
) -> list[ClaimedRecord]:
    """Extend the leases still held; returns the records whose lease was lost."""
    lost: list[ClaimedRecord] = []
    now = utcnow()
    with engine.begin() as conn:
        for record in records:
            result = conn.execute(
                outbox.update()
                .where(_held(record))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now)
            )
            if result.rowcount == 0:
                lost.append(record)
    return lost


def release_leases(engine: sa.Engine, records: Iterable[ClaimedRecord]) -> int:
    """Give back leases of records never attempted (shutdown): due again at once, the
    attempt counted at claim time is taken back."""
    released = 0
    now = utcnow()
    with engine.begin() as conn:
        for record in records:
            result = conn.execute(
                outbox.update()
                .where(_held(record))
                .values(
                    lease_token=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=outbox.c.attempts - 1,
                    updated_at=now,
                )
            )
            released += result.rowcount
    return released
