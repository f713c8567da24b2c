"""Relay heartbeats: one row per relay process, written with one upsert, read by auditors.

A relay is *stale* when its row was not refreshed for ``STALE_AFTER_SECONDS``: a live relay
refreshes it at least every ``HEARTBEAT_INTERVAL_SECONDS`` (relay/heartbeat.py), so a stale row
belongs to a relay that stopped, crashed or cannot reach the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from outbox.tables import relay_heartbeats
from outbox.upsert import upsert

HEARTBEAT_INTERVAL_SECONDS: Final = 15.0
STALE_AFTER_SECONDS: Final = 60.0  # four missed heartbeats
MAX_LISTED: Final = 200


@dataclass(frozen=True)
class RelayIdentity:
    """Who beats: fixed for the life of the process."""

    relay_id: str
    host: str
    pid: int
    version: str
    staging_volume: str
    started_at: datetime


@dataclass(frozen=True)
class BatchOutcome:
    """What the relay's last batch did: records claimed and attempts by outcome."""

    finished_at: datetime
    claimed: int
    outcomes: Mapping[str, int] = field(default_factory=dict)
    duration_ms: int = 0


@dataclass(frozen=True)
class RelayStatus:
    """A heartbeat row as the dashboard shows it."""

    identity: RelayIdentity
    last_seen_at: datetime
    last_batch: BatchOutcome | None
    age_seconds: float

    @property
    def stale(self) -> bool:
        return self.age_seconds > STALE_AFTER_SECONDS


def record_heartbeat(
    engine: sa.Engine, identity: RelayIdentity, now: datetime, batch: BatchOutcome | None
) -> None:
    """Insert or refresh ``identity``'s row (one statement); ``batch`` replaces the last batch
    when given, else the last batch is kept."""
    values: dict[str, Any] = {
        "relay_id": identity.relay_id,
        "host": identity.host,
        "pid": identity.pid,
        "version": identity.version,
        "staging_volume": identity.staging_volume,
        "started_at": identity.started_at,
        "last_seen_at": now,
    }
    if batch is not None:
        values |= {
            "last_batch_at": batch.finished_at,
            "last_batch_claimed": batch.claimed,
            "last_batch_outcomes": dict(batch.outcomes),
            "last_batch_duration_ms": batch.duration_ms,
        }
    with engine.begin() as conn:
        upsert(conn, relay_heartbeats, values, "relay_id")


def list_relays(engine: sa.Engine, now: datetime) -> list[RelayStatus]:
    """The relays that ever beat, most recently seen first (at most ``MAX_LISTED``)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(relay_heartbeats)
            .order_by(relay_heartbeats.c.last_seen_at.desc(), relay_heartbeats.c.relay_id)
            .limit(MAX_LISTED)
        ).all()
    return [_status(row, now) for row in rows]


def _status(row: Any, now: datetime) -> RelayStatus:
    identity = RelayIdentity(
        row.relay_id, row.host, int(row.pid), row.version, row.staging_volume, row.started_at
    )
    batch = None
    if row.last_batch_at is not None:
        outcomes = row.last_batch_outcomes if isinstance(row.last_batch_outcomes, dict) else {}
        batch = BatchOutcome(
            row.last_batch_at,
            int(row.last_batch_claimed),
            {str(k): int(v) for k, v in outcomes.items()},
            int(row.last_batch_duration_ms),
        )
    age = max(0.0, (now - row.last_seen_at).total_seconds())
    return RelayStatus(identity, row.last_seen_at, batch, age)
