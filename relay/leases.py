"""Keeping leases alive while long uploads run: a background thread renews them."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType

import sqlalchemy as sa
import structlog

from relay.claim import renew_leases
from relay.records import ClaimedRecord

log = structlog.get_logger()


class LeaseKeeper:
    """Renews the leases of unfinished records every third of the lease period."""

    def __init__(self, engine: sa.Engine, records: Iterable[ClaimedRecord], lease_seconds: int):
        self._engine = engine
        self._lease_seconds = lease_seconds
        self._open = {record.outbox_id: record for record in records}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-lease-keeper", daemon=True)

    def finish(self, record: ClaimedRecord) -> None:
        with self._lock:
            self._open.pop(record.outbox_id, None)

    def _run(self) -> None:
        interval = max(0.2, self._lease_seconds / 3)
        while not self._done.wait(interval):
            with self._lock:
                records = list(self._open.values())
            if not records:
                continue
            try:
                lost = renew_leases(self._engine, records, self._lease_seconds)
            except Exception as exc:  # noqa: BLE001 (the flip's guard is the real fence)
                log.warning("lease_renewal_failed", error=str(exc).splitlines()[0])
                continue
            for record in lost:
                log.warning("lease_renewal_lost", outbox_id=record.outbox_id)
                self.finish(record)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing (the leases still open then expire on their own)."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> LeaseKeeper:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
