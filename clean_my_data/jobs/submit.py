"""Submitting an analysis: the input stored first, then the job queued in one transaction.

The input written by this call is deleted again when it is not what the job refers to (the
same analysis id and bytes were already queued, the id is taken by other bytes, or the queueing
failed); when a replace succeeds, the input it replaced is deleted. A deletion the store refuses
is left to the sweep of unreferenced inputs.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import structlog

from clean_my_data._api._analyze import validate_analysis_id
from clean_my_data.jobs.inputs import delete_input, store_input
from outbox.jobs.model import JobInput, SubmitOutcome
from outbox.jobs.queue import submit_job
from outbox.settings import Settings
from relay.stores.base import ObjectStore

log = structlog.get_logger()


def submit_analysis(
    engine: sa.Engine,
    store: ObjectStore,
    settings: Settings,
    *,
    analysis_id: str,
    chunks: Iterable[bytes],
    file_name: str,
    submitted_by: str,
    replace: bool = False,
) -> SubmitOutcome:
    """Store the input read from ``chunks``, then queue the job."""
    validate_analysis_id(analysis_id)
    job_input = store_input(store, settings, chunks, file_name)
    return queue_stored_input(
        engine,
        store,
        settings,
        analysis_id=analysis_id,
        job_input=job_input,
        submitted_by=submitted_by,
        replace=replace,
    )


def queue_stored_input(
    engine: sa.Engine,
    store: ObjectStore,
    settings: Settings,
    *,
    analysis_id: str,
    job_input: JobInput,
    submitted_by: str,
    replace: bool = False,
) -> SubmitOutcome:
    """Queue the job for an input just stored; the input is deleted again when the job does
    not refer to it."""
    try:
        outcome = submit_job(
            engine,
            analysis_id,
            job_input,
            submitted_by=submitted_by,
            max_attempts=settings.job_max_attempts,
            replace=replace,
        )
    except BaseException:
        delete_input(store, job_input.key)
        raise
    if outcome.job.input_key != job_input.key:
        delete_input(store, job_input.key)
    if outcome.replaced_input_key is not None:
        delete_input(store, outcome.replaced_input_key)
    log.info(
        "analysis_submitted",
        analysis_id=analysis_id,
        job_id=outcome.job.id,
        created=outcome.created,
        input_bytes=job_input.size,
    )
    return outcome
