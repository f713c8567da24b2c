"""The relay's heartbeat: its ``relay_heartbeats`` row, refreshed cheaply.

``beat`` (the daemon calls it every ``HEARTBEAT_INTERVAL_SECONDS``) writes the row; a finished
batch is written at once unless the last write is less than ``BATCH_MIN_INTERVAL_SECONDS`` old,
in which case it rides on the next write. Each write is one upsert; a failing write is logged
and never stops the relay.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

import sqlalchemy as sa
import structlog

from outbox.clock import utcnow
from outbox.heartbeats import BatchOutcome, RelayIdentity, record_heartbeat
from outbox.settings import Settings
from outbox.version import package_version

log = structlog.get_logger()

BATCH_MIN_INTERVAL_SECONDS: Final = 1.0


class RelayHeartbeat:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._monotonic = monotonic
        self.identity = RelayIdentity(
            relay_id=settings.relay_id,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            version=package_version()[:64],  # the column's width
            staging_volume=settings.staging_volume_id,
            started_at=clock(),
        )
        self._lock = threading.Lock()
        self._pending: BatchOutcome | None = None
        self._last_write: float | None = None

    def beat(self) -> None:
        """Write the row now, with the batch that finished since the last write, if any."""
        with self._lock:
            self._write()

    def batch_finished(self, claimed: int, outcomes: dict[str, int], duration_ms: int) -> None:
        """Record a batch that claimed records; written now unless a write was very recent."""
        with self._lock:
            self._pending = BatchOutcome(self._clock(), claimed, dict(outcomes), duration_ms)
            recent = (
                self._last_write is not None
                and self._monotonic() - self._last_write < BATCH_MIN_INTERVAL_SECONDS
            )
            if not recent:
                self._write()

    def _write(self) -> None:
        batch, self._pending = self._pending, None
        try:
            record_heartbeat(self._engine, self.identity, self._clock(), batch)
        except sa.exc.SQLAlchemyError as exc:
            self._pending = batch  # written with the next beat
            log.warning("relay_heartbeat_failed", error=str(exc).splitlines()[0])
            return
        self._last_write = self._monotonic()
