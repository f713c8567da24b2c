"""Fenced leases on queue tables: the one claim/renew/release mechanism shared by the relay
(``outbox`` rows) and the workers (``analysis_jobs`` rows).

A leased table has the columns ``lease_token``, ``lease_owner``, ``lease_expires_at``,
``attempts`` and ``updated_at``. A claim selects due rows ``FOR UPDATE SKIP LOCKED`` (MySQL 8 /
MariaDB 10.6+: concurrent claimers never wait on, nor take, each other's rows) and gives them a
fresh token in the same short transaction. On SQLite every transaction starts with
``BEGIN IMMEDIATE`` (``outbox.db``), which serialises writers, and ``FOR UPDATE`` is not
rendered: the same statements work. Every later write by the holder names the token (the
fence), so a holder whose lease was taken over changes nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import sqlalchemy as sa
import structlog

log = structlog.get_logger()

T = TypeVar("T")


@dataclass(frozen=True)
class LeasedTable:
    """A table whose rows are claimed under fenced leases, keyed by ``key``."""

    table: sa.Table
    key: str = "id"

    def column(self, name: str) -> sa.Column[Any]:
        return self.table.c[name]

    def lease_free(self, now: datetime) -> sa.ColumnElement[bool]:
        """No lease, or one that expired before ``now``."""
        expires = self.column("lease_expires_at")
        return sa.or_(expires.is_(None), expires < now)

    def held(self, key: object, token: str) -> sa.ColumnElement[bool]:
        """The row ``key`` still leased under ``token`` (the fence)."""
        return sa.and_(
            self.column(self.key) == key,
            self.column("lease_token") == token,
            self.column("lease_expires_at").is_not(None),
        )

    def grant(
        self,
        conn: sa.Connection,
        keys: Sequence[object],
        *,
        owner: str,
        lease_seconds: int,
        now: datetime,
        **values: Any,
    ) -> str:
        """Lease the rows ``keys`` (locked by the caller's claim query) to ``owner``: a new
        token, the expiry, ``attempts + 1``; ``values`` are further columns to set."""
        token = str(uuid.uuid4())
        conn.execute(
            self.table.update()
            .where(self.column(self.key).in_(list(keys)))
            .values(
                lease_token=token,
                lease_owner=owner[:128],
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=self.column("attempts") + 1,
                updated_at=now,
                **values,
            )
        )
        return token

    def renew(
        self,
        conn: sa.Connection,
        key: object,
        token: str,
        *,
        lease_seconds: int,
        now: datetime,
        condition: sa.ColumnElement[bool] | None = None,
        **values: Any,
    ) -> bool:
        """Extend a lease still held (and ``condition``); False when it was lost."""
        return self.update_held(
            conn,
            key,
            token,
            condition,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
            **values,
        )

    def release(
        self,
        conn: sa.Connection,
        key: object,
        token: str,
        *,
        now: datetime,
        condition: sa.ColumnElement[bool] | None = None,
        **values: Any,
    ) -> bool:
        """Give a lease back unused: no holder, the attempt counted at claim time taken back."""
        return self.update_held(
            conn,
            key,
            token,
            condition,
            lease_token=None,
            lease_owner=None,
            lease_expires_at=None,
            attempts=self.column("attempts") - 1,
            updated_at=now,
            **values,
        )

    def update_held(
        self,
        conn: sa.Connection,
        key: object,
        token: str,
        condition: sa.ColumnElement[bool] | None,
        **values: Any,
    ) -> bool:
        """Set ``values`` on the row ``key`` if its lease is still held under ``token`` (and
        ``condition``): the fenced write. False when the lease was lost."""
        where = self.held(key, token)
        if condition is not None:
            where = sa.and_(where, condition)
        return bool(conn.execute(self.table.update().where(where).values(**values)).rowcount)


def lock_due(query: sa.Select[Any]) -> sa.Select[Any]:
    """The claim query's lock: skip rows another claimer holds (no-op on SQLite)."""
    return query.with_for_update(skip_locked=True)


class LeaseKeeper(Generic[T]):
    """Renews the leases of unfinished items every third of the lease period, in a thread.

    ``renew`` extends the leases of the items given and returns those whose lease was lost;
    lost items are dropped (``on_lost`` is told). The holder's fenced writes are the real
    guard: a renewal that fails is logged and tried again on the next tick."""

    def __init__(
        self,
        renew: Callable[[list[T]], list[T]],
        items: Iterable[T],
        lease_seconds: float,
        *,
        key: Callable[[T], Hashable],
        name: str = "lease-keeper",
        on_lost: Callable[[T], None] | None = None,
    ) -> None:
        self._renew = renew
        self._key = key
        self._lease_seconds = lease_seconds
        self._on_lost = on_lost
        self._open = {key(item): item for item in items}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def finish(self, item: T) -> None:
        with self._lock:
            self._open.pop(self._key(item), None)

    def _run(self) -> None:
        interval = max(0.2, self._lease_seconds / 3)
        while not self._done.wait(interval):
            with self._lock:
                items = list(self._open.values())
            if not items:
                continue
            try:
                lost = self._renew(items)
            except Exception as exc:  # noqa: BLE001 (the fenced writes are the real guard)
                log.warning("lease_renewal_failed", error=str(exc).splitlines()[0])
                continue
            for item in lost:
                self.finish(item)
                if self._on_lost is not None:
                    self._on_lost(item)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing (the leases still open then expire on their own)."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
