"""Deleting inputs nobody needs any more.

- The input of a finished job (``succeeded`` or ``failed``) is deleted
  ``JOB_INPUT_RETENTION_HOURS`` after the job finished; the job records when
  (``input_deleted_at``).
- An object in ``inputs/`` that no job refers to (its submission failed before the job was
  queued, or a replace superseded it and the delete did not go through) is deleted once it is
  older than ``JOB_INPUT_GRACE_SECONDS``, by the time written in its key.
- A temporary file of an input whose upload was cut off by a killed process (never published,
  never a job) is deleted once it has not been written to for ``JOB_INPUT_GRACE_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog

from clean_my_data.jobs.inputs import delete_input, inputs_prefix, stored_at
from outbox.clock import utcnow
from outbox.settings import Settings
from outbox.tables import JOB_FAILED, JOB_SUCCEEDED, analysis_jobs
from relay.stores.base import ObjectStore

log = structlog.get_logger()


@dataclass(frozen=True)
class InputSweep:
    expired: tuple[str, ...]  # inputs of finished jobs, past their retention
    unreferenced: tuple[str, ...]  # inputs no job refers to, past their grace period
    abandoned: int = 0  # temporary files of uploads cut off by a killed process


def sweep_inputs(
    engine: sa.Engine, store: ObjectStore, settings: Settings, *, now: datetime | None = None
) -> InputSweep:
    now = now or utcnow()
    c = analysis_jobs.c
    with engine.connect() as conn:
        finished = conn.execute(
            sa.select(c.id, c.input_key).where(
                c.status.in_((JOB_SUCCEEDED, JOB_FAILED)),
                c.input_deleted_at.is_(None),
                c.finished_at <= now - timedelta(hours=settings.job_input_retention_hours),
            )
        ).all()
    expired: list[str] = []
    for row in finished:
        if not delete_input(store, row.input_key):
            continue
        with engine.begin() as conn:  # only if the job still refers to that input
            conn.execute(
                analysis_jobs.update()
                .where(c.id == row.id, c.input_key == row.input_key)
                .values(input_deleted_at=now)
            )
        expired.append(row.input_key)

    grace_start = now - timedelta(seconds=settings.job_input_grace_seconds)
    abandoned = store.remove_abandoned_writes(
        inputs_prefix(settings), settings.worker_scratch_dir, grace_start
    )
    candidates = [
        info.key
        for info in store.iter_objects(inputs_prefix(settings))
        if (made := stored_at(info.key)) is not None and made < grace_start
    ]
    unreferenced: list[str] = []
    if candidates:
        with engine.connect() as conn:
            referenced = set(
                conn.execute(sa.select(c.input_key).where(c.input_key.in_(candidates))).scalars()
            )
        for key in candidates:
            if key not in referenced and delete_input(store, key):
                unreferenced.append(key)
    if expired or unreferenced or abandoned:
        log.info(
            "job_inputs_swept",
            expired=len(expired),
            unreferenced=len(unreferenced),
            abandoned=abandoned,
        )
    return InputSweep(tuple(expired), tuple(unreferenced), abandoned)
