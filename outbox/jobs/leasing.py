"""Workers' leases on jobs: claim, renew (with phase and progress), release, and the fenced
end of a job (succeeded inside the commit's transaction, failed, or queued again).

Claimable: ``queued`` with ``available_at <= now``, or ``running`` with an expired lease (its
worker crashed, was killed or cut off). A job whose expired lease used its last attempt is
failed instead of claimed, with the last error it recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from outbox.clock import utcnow
from outbox.jobs.model import ClaimedJob, JobInput, JobLeaseLostError
from outbox.leases import LeasedTable, lock_due
from outbox.tables import JOB_FAILED, JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, analysis_jobs

JOB_LEASES: Final = LeasedTable(analysis_jobs)
PHASE_CLAIMED: Final = "claimed"
ERROR_LEASE_EXPIRED: Final = "lease_expired"
_CLAIM_SCAN: Final = 8  # rows looked at per claim (exhausted ones are failed on the way)

_c = analysis_jobs.c
_RUNNING = _c.status == JOB_RUNNING


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(_c.status == JOB_QUEUED, _c.available_at <= now),
        sa.and_(_RUNNING, JOB_LEASES.lease_free(now)),
    )


def build_job_claim_query(now: datetime) -> sa.Select[Any]:
    """Due jobs, oldest first, locked, skipping those another worker is claiming."""
    return lock_due(
        sa.select(analysis_jobs)
        .where(_due(now))
        .order_by(_c.available_at, _c.id)
        .limit(_CLAIM_SCAN)
    )


def _give_up(conn: sa.Connection, row: Any, now: datetime) -> None:
    conn.execute(
        analysis_jobs.update()
        .where(_c.id == row.id)
        .values(
            status=JOB_FAILED,
            error_class=ERROR_LEASE_EXPIRED,
            error_message=(
                f"lease of {row.lease_owner} expired on attempt {row.attempts} of "
                f"{row.max_attempts}"
            ),
            lease_token=None,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )


def claim_job(engine: sa.Engine, *, owner: str, lease_seconds: int) -> ClaimedJob | None:
    """Lease the oldest due job to ``owner`` (attempts + 1, status running), or None."""
    now = utcnow()
    with engine.begin() as conn:
        for row in conn.execute(build_job_claim_query(now)).all():
            if row.status == JOB_RUNNING and row.attempts >= row.max_attempts:
                _give_up(conn, row, now)
                continue
            values: dict[str, Any] = {"status": JOB_RUNNING, "phase": PHASE_CLAIMED}
            if row.status == JOB_RUNNING:  # taken over from a worker that stopped renewing
                values |= {
                    "error_class": ERROR_LEASE_EXPIRED,
                    "error_message": f"lease of {row.lease_owner} expired",
                }
            token = JOB_LEASES.grant(
                conn,
                [row.id],
                owner=owner,
                lease_seconds=lease_seconds,
                now=now,
                started_at=row.started_at or now,
                **values,
            )
            return ClaimedJob(
                id=int(row.id),
                analysis_id=str(row.analysis_id),
                lease_token=token,
                attempt=int(row.attempts) + 1,
                max_attempts=int(row.max_attempts),
                input=JobInput(
                    key=row.input_key,
                    name=row.input_name,
                    size=int(row.input_size),
                    sha256=row.input_sha256,
                ),
            )
    return None


def renew_job(
    engine: sa.Engine,
    job: ClaimedJob,
    *,
    lease_seconds: int,
    phase: str | None = None,
    progress: float | None = None,
) -> bool:
    """Extend the lease (and record phase and progress); False when it was lost."""
    values: dict[str, Any] = {}
    if phase is not None:
        values["phase"] = phase[:32]
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    with engine.begin() as conn:
        return JOB_LEASES.renew(
            conn,
            job.id,
            job.lease_token,
            lease_seconds=lease_seconds,
            now=utcnow(),
            condition=_RUNNING,
            **values,
        )


def release_job(engine: sa.Engine, job: ClaimedJob) -> bool:
    """Give the job back (shutdown before it could finish): queued again at once, the attempt
    taken back."""
    with engine.begin() as conn:
        return JOB_LEASES.release(
            conn,
            job.id,
            job.lease_token,
            now=utcnow(),
            condition=_RUNNING,
            status=JOB_QUEUED,
            phase=None,
            progress=0.0,
        )


def mark_succeeded(conn: sa.Connection, job: ClaimedJob) -> None:
    """Inside the commit's transaction: the fence. Raises :class:`JobLeaseLostError` (rolling
    the whole transaction back) when the lease was taken over."""
    now = utcnow()
    held = JOB_LEASES.update_held(
        conn,
        job.id,
        job.lease_token,
        _RUNNING,
        status=JOB_SUCCEEDED,
        phase="done",
        progress=1.0,
        error_class=None,
        error_message=None,
        lease_token=None,
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )
    if not held:
        raise JobLeaseLostError(
            f"job for analysis {job.analysis_id!r} was taken over by another worker"
        )


def finish_failed(
    engine: sa.Engine,
    job: ClaimedJob,
    *,
    error_class: str,
    message: str,
    retry_after_seconds: float | None = None,
) -> str | None:
    """Record an error. ``retry_after_seconds`` set and attempts left: queued again after that
    delay; else failed for good. Returns the new status, or None when the lease was lost."""
    now = utcnow()
    retry = retry_after_seconds is not None and job.attempt < job.max_attempts
    values: dict[str, Any] = {
        "error_class": error_class[:64],
        "error_message": message,
        "lease_token": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    if retry:
        assert retry_after_seconds is not None
        values |= {
            "status": JOB_QUEUED,
            "available_at": now + timedelta(seconds=retry_after_seconds),
        }
    else:
        values |= {"status": JOB_FAILED, "finished_at": now}
    with engine.begin() as conn:
        held = JOB_LEASES.update_held(conn, job.id, job.lease_token, _RUNNING, **values)
    if not held:
        return None
    return str(values["status"])
