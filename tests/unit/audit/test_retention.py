"""Retention purges finished outbox records in batches; history only when configured."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import sqlalchemy as sa

from outbox import tables as t
from outbox.audit.retention import count_purgeable, plan_purge, purge_expired, purge_finished
from outbox.settings import Settings
from tests.unit.audit.rows import Seeder


def _age_everything(engine: sa.Engine, days: int) -> None:
    """Move every finish and history time ``days`` back (computed here: portable SQL)."""
    o, h = t.outbox, t.outbox_attempts
    shift = timedelta(days=days)
    with engine.begin() as conn:
        for row_id, finished in conn.execute(
            sa.select(o.c.id, o.c.finished_at).where(o.c.finished_at.is_not(None))
        ).all():
            conn.execute(sa.update(o).where(o.c.id == row_id).values(finished_at=finished - shift))
        for row_id, recorded in conn.execute(sa.select(h.c.id, h.c.recorded_at)).all():
            conn.execute(sa.update(h).where(h.c.id == row_id).values(recorded_at=recorded - shift))


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _seed(seeder: Seeder, analyses: int) -> None:
    for number in range(analyses):
        analysis_id = f"r{number}"
        seeder.add_report(analysis_id)
        seeder.add_download(
            analysis_id, "csv", status=t.UPLOADED, staged=False, outbox_state=t.OUTBOX_DONE
        )
        failed = seeder.add_download(analysis_id, "json")
        seeder.fail_download(failed)
        seeder.add_download(analysis_id, "xlsx")  # pending: never purged


def test_old_finished_records_are_purged_pending_and_history_kept(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    _seed(seeder, 4)
    _age_everything(engine, 31)
    history_before = _count(engine, t.outbox_attempts)
    plan = plan_purge(settings)
    assert count_purgeable(engine, plan).outbox_rows == 8
    result = purge_expired(engine, settings, batch_size=3)
    assert (result.outbox_rows, result.history_rows) == (8, 0)
    with engine.connect() as conn:
        states = set(conn.execute(sa.select(t.outbox.c.state)).scalars())
    assert states == {t.OUTBOX_PENDING}
    assert _count(engine, t.outbox) == 4
    assert _count(engine, t.outbox_attempts) == history_before
    assert purge_finished(engine, settings) == 0  # nothing left: idempotent


def test_recent_finished_records_stay(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    _seed(seeder, 2)
    _age_everything(engine, 29)
    assert purge_finished(engine, settings) == 0
    assert _count(engine, t.outbox) == 6


def test_history_purged_only_when_its_retention_is_set(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    _seed(seeder, 3)
    _age_everything(engine, 100)
    history = _count(engine, t.outbox_attempts)
    with_history = dataclasses.replace(settings, history_retention_days=90)
    assert count_purgeable(engine, plan_purge(with_history)).history_rows == history
    result = purge_expired(engine, with_history, batch_size=2)
    assert result.history_rows == history
    assert result.outbox_rows == 6
    assert purge_finished(engine, with_history) == 0
    assert _count(engine, t.outbox_attempts) == 0
