"""Running analysis jobs.

A worker claims one job at a time under a fenced lease (:mod:`outbox.jobs.leasing`), streams
its input from the store to a private scratch directory, runs the transformer and commits the
report, the downloads, their outbox records and the job's ``succeeded`` in ONE transaction; the
job's fence is checked inside it, so a worker whose lease was taken over commits nothing.

- Bad input (:class:`domain.errors.InputError`): the job fails with the one-line error, no retry.
- Any other error: queued again after a backoff while attempts remain, else failed with it.
- A crash or kill: the lease stops being renewed and expires; another worker takes the job.
- Phase and progress are written with the lease renewal at most once a second.
- Stop requested (SIGTERM): the current job is finished, then the loop ends; a job claimed
  but not started is released.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa
import structlog

import clean_my_data
from clean_my_data.jobs.inputs import fetch_input, safe_file_name
from clean_my_data.jobs.sweep import sweep_inputs
from outbox.jobs.leasing import (
    claim_job,
    finish_failed,
    mark_succeeded,
    release_job,
    renew_job,
)
from outbox.jobs.model import ClaimedJob, JobLeaseLostError
from outbox.leases import LeaseKeeper
from outbox.settings import Settings
from relay.stores.base import ObjectStore, StoreError

PROGRESS_INTERVAL_SECONDS: Final = 1.0
PHASE_FETCHING: Final = "fetching"
RETRY_BASE_SECONDS: Final = 2.0
RETRY_MAX_SECONDS: Final = 300.0
SWEEP_INTERVAL_SECONDS: Final = 300.0

log = structlog.get_logger()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _retry_delay(attempt: int) -> float:
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)))


class ProgressWriter:
    """The transformer's progress callback: phase and share done, written (with a lease
    renewal) at most once per :data:`PROGRESS_INTERVAL_SECONDS`."""

    def __init__(self, engine: sa.Engine, job: ClaimedJob, lease_seconds: int) -> None:
        self._engine = engine
        self._job = job
        self._lease_seconds = lease_seconds
        self._last = -PROGRESS_INTERVAL_SECONDS
        self.lost = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        share = done / total if total > 0 else 0.0
        try:
            held = renew_job(
                self._engine,
                self._job,
                lease_seconds=self._lease_seconds,
                phase=phase,
                progress=share,
            )
        except sa.exc.DBAPIError as exc:
            log.warning("job_progress_failed", job_id=self._job.id, error=_first_line(exc))
            return
        if not held:
            self.lost = True


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    analysis_id: str
    status: str  # succeeded | failed | queued (retry) | lease_lost


class JobWorker:
    def __init__(
        self,
        engine: sa.Engine,
        store: ObjectStore,
        settings: Settings,
        stop: threading.Event | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._settings = settings
        self.stop = stop or threading.Event()

    def run_forever(self) -> None:
        log.info("worker_started", worker_id=self._settings.worker_id)
        next_sweep = 0.0
        while not self.stop.is_set():
            if time.monotonic() >= next_sweep:
                self.sweep()
                next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
            if self.run_one() is None:
                self.stop.wait(self._settings.worker_poll_interval_seconds)
        log.info("worker_stopped", worker_id=self._settings.worker_id)

    def sweep(self) -> None:
        """Delete inputs past their retention or grace period; a failure is logged only."""
        try:
            sweep_inputs(self._engine, self._store, self._settings)
        except Exception as exc:  # noqa: BLE001 (the next sweep tries again)
            log.warning("job_input_sweep_failed", error=_first_line(exc))

    def run_one(self) -> JobOutcome | None:
        """Claim and run one job; None when none was due."""
        job = claim_job(
            self._engine,
            owner=self._settings.worker_id,
            lease_seconds=self._settings.job_lease_seconds,
        )
        if job is None:
            return None
        if self.stop.is_set():
            release_job(self._engine, job)
            log.info("job_released", job_id=job.id, analysis_id=job.analysis_id)
            return JobOutcome(job.id, job.analysis_id, "queued")
        return self._process(job)

    def _renew(self, jobs: list[ClaimedJob]) -> list[ClaimedJob]:
        lease = self._settings.job_lease_seconds
        return [job for job in jobs if not renew_job(self._engine, job, lease_seconds=lease)]

    def _process(self, job: ClaimedJob) -> JobOutcome:
        log.info("job_claimed", job_id=job.id, analysis_id=job.analysis_id, attempt=job.attempt)
        scratch = self._settings.worker_scratch_dir / f"job-{job.id}-{job.lease_token[:8]}"
        keeper = LeaseKeeper(
            self._renew,
            [job],
            self._settings.job_lease_seconds,
            key=lambda claimed: claimed.id,
            name="job-lease-keeper",
            on_lost=lambda claimed: log.warning("job_lease_lost", job_id=claimed.id),
        )
        try:
            with keeper:
                return self._run(job, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, job: ClaimedJob, scratch: Path) -> JobOutcome:
        progress = ProgressWriter(self._engine, job, self._settings.job_lease_seconds)
        try:
            scratch.mkdir(parents=True, exist_ok=False)
            path = scratch / safe_file_name(job.input.name)
            progress(PHASE_FETCHING, 0, job.input.size)
            fetch_input(self._store, job.input, path)
            clean_my_data.analyze_and_commit(
                path,
                analysis_id=job.analysis_id,
                settings=self._settings,
                engine=self._engine,
                in_transaction=lambda conn: mark_succeeded(conn, job),
                progress=progress,
            )
        except JobLeaseLostError:
            log.warning("job_lease_lost", job_id=job.id, analysis_id=job.analysis_id)
            return JobOutcome(job.id, job.analysis_id, "lease_lost")
        except clean_my_data.InputError as exc:
            return self._failed(job, "input_error", _first_line(exc), retry=False)
        except StoreError as exc:
            return self._failed(job, exc.error_class.value, _first_line(exc), retry=True)
        except Exception as exc:  # noqa: BLE001 (recorded on the job; retried)
            return self._failed(job, type(exc).__name__, _first_line(exc), retry=True)
        log.info("job_succeeded", job_id=job.id, analysis_id=job.analysis_id)
        return JobOutcome(job.id, job.analysis_id, "succeeded")

    def _failed(
        self, job: ClaimedJob, error_class: str, message: str, *, retry: bool
    ) -> JobOutcome:
        status = finish_failed(
            self._engine,
            job,
            error_class=error_class,
            message=message,
            retry_after_seconds=_retry_delay(job.attempt) if retry else None,
        )
        log.warning(
            "job_failed",
            job_id=job.id,
            analysis_id=job.analysis_id,
            error_class=error_class,
            error=message,
            status=status or "lease_lost",
        )
        return JobOutcome(job.id, job.analysis_id, status or "lease_lost")
