"""What the API answers about an analysis: the job, and the final object once committed."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from clean_my_data._api._reports import Presign, render_report
from outbox.access import Principal
from outbox.db import connect_for_reading
from outbox.jobs.model import Job
from outbox.jobs.queue import read_job
from outbox.reports import load_report
from outbox.tables import JOB_FAILED, JOB_SUCCEEDED


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def job_json(job: Job) -> dict[str, Any]:
    return {
        "analysis_id": job.analysis_id,
        "status": job.status,
        "phase": job.phase,
        "progress": round(job.progress, 4),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": None
        if job.error_message is None or job.status == JOB_SUCCEEDED
        else {"class": job.error_class, "message": job.error_message},
        "input": {"file_name": job.input_name, "size_bytes": job.input_size},
        "submitted_at": iso(job.submitted_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def job_has_ended(job: Job | None) -> bool:
    return job is None or job.status in (JOB_SUCCEEDED, JOB_FAILED)


def visible_to(principal: Principal, job: Job | None, *, sees_all: bool) -> bool:
    """Analysts see the jobs they submitted; auditors and admins see everything."""
    if sees_all:
        return True
    return job is not None and job.submitted_by == principal.name


def load_analysis(engine: sa.Engine, analysis_id: str) -> tuple[Job | None, dict[str, Any] | None]:
    with connect_for_reading(engine) as conn:
        job = read_job(conn, analysis_id)
    return job, load_report(engine, analysis_id)


def analysis_document(
    analysis_id: str, job: Job | None, report: dict[str, Any] | None, presign: Presign | None
) -> dict[str, Any]:
    final_object = None if report is None else render_report(report, presign)
    entries = [] if final_object is None else final_object.get("report", {}).get("downloads", [])
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("download_id"):
            entry["download_url"] = (
                f"/api/v1/analyses/{analysis_id}/downloads/{entry['download_id']}"
            )
    return {
        "analysis_id": analysis_id,
        "job": None if job is None else job_json(job),
        "final_object": final_object,
    }


def etag_of(document: dict[str, Any]) -> str:
    """The entity tag of a document without its presigned URLs (they differ on every read)."""
    stable = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(stable.encode("utf-8")).hexdigest()[:32] + '"'
