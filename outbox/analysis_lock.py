"""The one way to change an analysis' rows: a transaction holding the analysis' named lock.

Every writer of an analysis' report, downloads and outbox records outside the relay (persist,
requeue) goes through :func:`analysis_transaction`, so they take turns per analysis, and locks
rows in the relay's flip order: outbox records, then downloads rows, then the report row.

SQLite: ``BEGIN IMMEDIATE`` (``outbox.db``) already admits one writer at a time. MySQL: a named
lock per analysis (``GET_LOCK``) serialises the writers of one analysis, and READ COMMITTED
keeps locking reads of not-yet-existing rows free of gap locks, so writers of different
analyses never deadlock on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import sqlalchemy as sa
import structlog

from domain.errors import UserFacingError
from outbox.migrations import server_lock_name

ANALYSIS_LOCK_TIMEOUT_SECONDS: Final = 120
_LOCK_PREFIX: Final = "cmd_persist_"

log = structlog.get_logger()


class AnalysisBusyError(UserFacingError):
    """Another writer held the analysis' lock for longer than the timeout."""


@contextmanager
def analysis_transaction(
    engine: sa.Engine, analysis_id: str, *, timeout_seconds: int = ANALYSIS_LOCK_TIMEOUT_SECONDS
) -> Iterator[sa.Connection]:
    """One transaction holding the analysis' lock; commits on exit, rolls back on error."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    lock = server_lock_name(_LOCK_PREFIX, engine.url.database, analysis_id)
    with engine.connect() as conn:
        # For the next transaction only (no session state to reset); GET_LOCK runs inside it.
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        got = conn.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": lock, "timeout": timeout_seconds},
        ).scalar()
        if got != 1:
            raise AnalysisBusyError(
                f"another writer is still committing analysis {analysis_id!r} "
                f"(waited {timeout_seconds}s)"
            )
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            try:  # the connection's reset on return rolls back the statement's implicit begin
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": lock})
            except Exception as exc:  # noqa: BLE001 (the outcome is decided; never mask it)
                log.warning("analysis_lock_release_failed", error=type(exc).__name__)
                conn.invalidate()  # closing the session releases the lock
