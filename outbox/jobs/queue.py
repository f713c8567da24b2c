"""Submitting jobs and reading them.

Submitting runs after the input is stored; it inserts the job in one transaction. The same
analysis id with the same bytes (sha256 and size) is the same job (nothing new is written);
with other bytes it is a :class:`JobConflictError` unless ``replace`` is asked, which puts the
job back in the queue with the new input (a worker still running the old input loses its lease
and commits nothing).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from outbox.clock import utcnow
from outbox.jobs.model import Job, JobConflictError, JobInput, SubmitOutcome
from outbox.tables import JOB_QUEUED, analysis_jobs

MAX_SUBMITTED_BY_LENGTH: Final = 128


def read_job(conn: sa.Connection, analysis_id: str) -> Job | None:
    row = conn.execute(
        sa.select(analysis_jobs).where(analysis_jobs.c.analysis_id == analysis_id)
    ).first()
    return None if row is None else Job.from_row(row)


def load_job(engine: sa.Engine, analysis_id: str) -> Job | None:
    with engine.connect() as conn:
        return read_job(conn, analysis_id)


def _same_input(job: Job, job_input: JobInput) -> bool:
    return job.input_sha256 == job_input.sha256 and job.input_size == job_input.size


def _queued_values(job_input: JobInput) -> dict[str, object]:
    now = utcnow()
    return {
        "input_key": job_input.key,
        "input_name": job_input.name[:255],
        "input_size": job_input.size,
        "input_sha256": job_input.sha256,
        "status": JOB_QUEUED,
        "attempts": 0,
        "lease_token": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "phase": None,
        "progress": 0.0,
        "error_class": None,
        "error_message": None,
        "submitted_at": now,
        "available_at": now,
        "started_at": None,
        "finished_at": None,
        "input_deleted_at": None,
        "updated_at": now,
    }


def submit_job(
    engine: sa.Engine,
    analysis_id: str,
    job_input: JobInput,
    *,
    submitted_by: str,
    max_attempts: int,
    replace: bool = False,
) -> SubmitOutcome:
    """Queue ``analysis_id`` for ``job_input`` (see the module docstring)."""
    for _ in range(2):  # a concurrent first submit of the same id: read its row on the retry
        try:
            with engine.begin() as conn:
                return _submit(
                    conn, analysis_id, job_input, submitted_by, max_attempts, replace=replace
                )
        except sa.exc.IntegrityError:
            continue
    raise JobConflictError(f"analysis {analysis_id!r} is being submitted concurrently; try again")


def _submit(
    conn: sa.Connection,
    analysis_id: str,
    job_input: JobInput,
    submitted_by: str,
    max_attempts: int,
    *,
    replace: bool,
) -> SubmitOutcome:
    current = conn.execute(
        sa.select(analysis_jobs).where(analysis_jobs.c.analysis_id == analysis_id).with_for_update()
    ).first()
    if current is None:
        conn.execute(
            analysis_jobs.insert().values(
                analysis_id=analysis_id,
                max_attempts=max_attempts,
                submitted_by=submitted_by[:MAX_SUBMITTED_BY_LENGTH],
                **_queued_values(job_input),
            )
        )
        job = read_job(conn, analysis_id)
        assert job is not None
        return SubmitOutcome(job, created=True)
    existing = Job.from_row(current)
    if _same_input(existing, job_input):
        return SubmitOutcome(existing, created=False)
    if not replace:
        raise JobConflictError(
            f"analysis {analysis_id!r} was submitted with other input bytes "
            f"(sha256 {existing.input_sha256[:12]}..., {existing.input_size} bytes); "
            "use another analysis id or ask to replace it"
        )
    conn.execute(
        analysis_jobs.update()
        .where(analysis_jobs.c.id == existing.id)
        .values(
            max_attempts=max_attempts,
            submitted_by=submitted_by[:MAX_SUBMITTED_BY_LENGTH],
            **_queued_values(job_input),
        )
    )
    job = read_job(conn, analysis_id)
    assert job is not None
    return SubmitOutcome(job, created=True, replaced_input_key=existing.input_key)
