"""The relay heartbeat upsert on both backends: one row per relay, refreshed in place, the last
batch kept until a new one replaces it; the relay writes it from ``relay --once`` and from its
batches, at most once a second while batches follow each other."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from outbox.heartbeats import (
    STALE_AFTER_SECONDS,
    BatchOutcome,
    RelayIdentity,
    list_relays,
    record_heartbeat,
)
from outbox.settings import Settings
from outbox.tables import relay_heartbeats
from relay.heartbeat import RelayHeartbeat

T0 = datetime(2026, 3, 1, 12, 0, 0)


def identity(relay_id: str = "relay-a", started_at: datetime = T0) -> RelayIdentity:
    return RelayIdentity(relay_id, "host-1", 4242, "1.2.3", "vol-a", started_at)


def test_the_upsert_inserts_then_refreshes_one_row_and_keeps_the_last_batch(
    engine: sa.Engine,
) -> None:
    record_heartbeat(engine, identity(), T0, None)
    batch = BatchOutcome(T0 + timedelta(seconds=3), 7, {"uploaded": 6, "failed": 1}, 420)
    record_heartbeat(engine, identity(), T0 + timedelta(seconds=4), batch)
    record_heartbeat(engine, identity(), T0 + timedelta(seconds=20), None)  # an idle beat

    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(relay_heartbeats)).scalar() == 1
    [status] = list_relays(engine, T0 + timedelta(seconds=30))
    assert status.identity == identity()
    assert status.last_seen_at == T0 + timedelta(seconds=20)
    assert status.age_seconds == 10.0
    assert not status.stale
    assert status.last_batch == batch


def test_a_restarted_relay_replaces_its_identity_and_old_rows_turn_stale(
    engine: sa.Engine,
) -> None:
    record_heartbeat(engine, identity("relay-old"), T0, None)
    record_heartbeat(engine, identity("relay-a"), T0, None)
    restarted = dataclasses.replace(identity("relay-a"), pid=9, started_at=T0 + timedelta(hours=1))
    record_heartbeat(engine, restarted, T0 + timedelta(hours=1), None)

    now = T0 + timedelta(hours=1, seconds=5)
    statuses = {s.identity.relay_id: s for s in list_relays(engine, now)}
    assert list(statuses) == ["relay-a", "relay-old"]  # most recently seen first
    assert statuses["relay-a"].identity == restarted
    assert statuses["relay-a"].last_batch is None
    assert not statuses["relay-a"].stale
    assert statuses["relay-old"].stale
    assert statuses["relay-old"].age_seconds > STALE_AFTER_SECONDS


def test_batches_in_quick_succession_share_one_write(engine: sa.Engine) -> None:
    ticks = iter([0.0, 0.2, 0.4, 5.0, 5.1, 5.2])  # monotonic: checks and writes
    clock_times = iter(T0 + timedelta(seconds=n) for n in range(100))
    settings = dataclasses.replace(Settings(), relay_id="relay-q", staging_volume_id="vol-q")
    beat = RelayHeartbeat(
        engine, settings, clock=lambda: next(clock_times), monotonic=lambda: next(ticks)
    )
    written: list[BatchOutcome | None] = []
    real = record_heartbeat

    def spy(
        engine: sa.Engine, who: RelayIdentity, now: datetime, batch: BatchOutcome | None
    ) -> None:
        written.append(batch)
        real(engine, who, now, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("relay.heartbeat.record_heartbeat", spy)
        beat.beat()  # write at tick 0.0
        beat.batch_finished(2, {"uploaded": 2}, 10)  # 0.2: too soon, kept
        beat.batch_finished(3, {"uploaded": 3}, 11)  # 0.4: too soon, replaces the kept one
        beat.batch_finished(4, {"uploaded": 3, "retry_scheduled": 1}, 12)  # 5.0: written
        beat.beat()  # nothing pending: an idle beat
    assert [None if b is None else b.claimed for b in written] == [None, 4, None]
    [status] = list_relays(engine, T0 + timedelta(seconds=60))
    assert status.last_batch is not None
    assert status.last_batch.outcomes == {"uploaded": 3, "retry_scheduled": 1}
    assert status.identity.relay_id == "relay-q"
    assert status.identity.staging_volume == "vol-q"
