"""Retention: purge finished outbox records (and, when configured, old history) in batches.

Each batch is its own short transaction so the purge never holds many locks or a long undo log;
the relay keeps claiming while it runs. The attempt history is kept unless
``HISTORY_RETENTION_DAYS`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from outbox import tables as t
from outbox.clock import utcnow
from outbox.settings import Settings

log = structlog.get_logger()

FINISHED_STATES = (t.OUTBOX_DONE, t.OUTBOX_DEAD, t.OUTBOX_SUPERSEDED)


@dataclass(frozen=True)
class PurgePlan:
    outbox_cutoff: datetime
    history_cutoff: datetime | None  # None: history kept forever


@dataclass(frozen=True)
class PurgeResult:
    outbox_rows: int
    history_rows: int

    @property
    def total(self) -> int:
        return self.outbox_rows + self.history_rows


def plan_purge(settings: Settings, now: datetime | None = None) -> PurgePlan:
    current = utcnow() if now is None else now
    history_cutoff = (
        None
        if settings.history_retention_days is None
        else current - timedelta(days=settings.history_retention_days)
    )
    return PurgePlan(current - timedelta(days=settings.outbox_retention_days), history_cutoff)


def _finished_before(cutoff: datetime) -> sa.ColumnElement[bool]:
    o = t.outbox
    return sa.and_(o.c.state.in_(FINISHED_STATES), o.c.finished_at < cutoff)


def count_purgeable(engine: Engine, plan: PurgePlan) -> PurgeResult:
    """What a purge would delete now (``purge --dry-run``)."""
    with engine.connect() as conn:
        outbox_rows = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(_finished_before(plan.outbox_cutoff))
        ).scalar_one()
        history_rows = 0
        if plan.history_cutoff is not None:
            history_rows = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.outbox_attempts)
                .where(t.outbox_attempts.c.recorded_at < plan.history_cutoff)
            ).scalar_one()
    return PurgeResult(int(outbox_rows), int(history_rows))


def _purge_batches(
    engine: Engine, table: sa.Table, condition: sa.ColumnElement[bool], batch_size: int
) -> int:
    """Select a batch of ids, delete them (re-checking the condition), commit; repeat."""
    deleted = 0
    while True:
        with engine.begin() as conn:
            ids = (
                conn.execute(
                    sa.select(table.c.id).where(condition).order_by(table.c.id).limit(batch_size)
                )
                .scalars()
                .all()
            )
            if not ids:
                return deleted
            result = conn.execute(sa.delete(table).where(table.c.id.in_(ids), condition))
            deleted += result.rowcount
        if len(ids) < batch_size:
            return deleted


def purge_expired(
    engine: Engine, settings: Settings, batch_size: int = 500, now: datetime | None = None
) -> PurgeResult:
    plan = plan_purge(settings, now)
    outbox_rows = _purge_batches(engine, t.outbox, _finished_before(plan.outbox_cutoff), batch_size)
    history_rows = 0
    if plan.history_cutoff is not None:
        history_rows = _purge_batches(
            engine,
            t.outbox_attempts,
            t.outbox_attempts.c.recorded_at < plan.history_cutoff,
            batch_size,
        )
    log.info(
        "retention_purged",
        outbox_rows=outbox_rows,
        history_rows=history_rows,
        outbox_cutoff=plan.outbox_cutoff.isoformat(),
        history_cutoff=None if plan.history_cutoff is None else plan.history_cutoff.isoformat(),
    )
    return PurgeResult(outbox_rows, history_rows)


def purge_finished(engine: Engine, settings: Settings, batch_size: int = 500) -> int:
    """The relay's scheduled job: rows deleted in total (outbox records + history rows)."""
    return purge_expired(engine, settings, batch_size).total
