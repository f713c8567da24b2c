"""``clean-my-data submit INPUT [--analysis-id ID] [--replace] [--wait [SECONDS]]``.

Stores INPUT in the artifact store's ``inputs/`` area, queues an analysis job for the workers
and prints the job as JSON. ``--wait`` waits until the job has ended and prints the committed
final object too (exit 1 when the job failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from clean_my_data._api._analyze import check_input, validate_analysis_id
from clean_my_data.jobs.submit import submit_analysis
from domain.errors import UserFacingError
from outbox.db import open_database
from outbox.jobs.model import Job
from outbox.jobs.queue import load_job
from outbox.reports import load_report
from outbox.settings import Settings
from outbox.tables import JOB_FAILED, JOB_SUCCEEDED
from relay.stores import open_store

CHUNK_BYTES: Final = 1024 * 1024
WAIT_POLL_SECONDS: Final = 0.5


class JobFailedError(UserFacingError):
    """The job ended as failed."""

    exit_code = 1


class WaitTimeoutError(UserFacingError):
    """The job did not end within --wait seconds."""

    exit_code = 1


def read_file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def job_to_json(job: Job) -> dict[str, Any]:
    return {
        name: value.isoformat() + "Z" if isinstance(value, datetime) else value
        for name, value in asdict(job).items()
    }


def run_submit(args: argparse.Namespace, settings: Settings) -> int:
    analysis_id = validate_analysis_id(args.analysis_id) if args.analysis_id else str(uuid.uuid4())
    path = Path(args.input)
    check_input(path)
    engine = open_database(settings)
    try:
        outcome = submit_analysis(
            engine,
            open_store(settings),
            settings,
            analysis_id=analysis_id,
            chunks=read_file_chunks(path),
            file_name=path.name,
            submitted_by=f"cli:{settings.worker_id}",
            replace=args.replace,
        )
        document: dict[str, Any] = {"job": job_to_json(outcome.job), "created": outcome.created}
        if args.wait is not None:
            job = _wait(engine, analysis_id, args.wait)
            document["job"] = job_to_json(job)
            if job.status == JOB_SUCCEEDED:
                document["final_object"] = load_report(engine, analysis_id)
            sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
            if job.status == JOB_FAILED:
                raise JobFailedError(f"analysis {analysis_id!r} failed: {job.error_message}")
            return 0
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        return 0
    finally:
        engine.dispose()


def _wait(engine: Any, analysis_id: str, seconds: float) -> Job:
    deadline = time.monotonic() + seconds
    while True:
        job = load_job(engine, analysis_id)
        assert job is not None
        if job.status in (JOB_SUCCEEDED, JOB_FAILED):
            return job
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(
                f"analysis {analysis_id!r} is still {job.status} after {seconds:g}s"
            )
        time.sleep(WAIT_POLL_SECONDS)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "submit", help="queue a CSV/XLSX file for the workers; print the job as JSON"
    )
    parser.add_argument("input", metavar="INPUT", help="the CSV or XLSX file to analyse")
    parser.add_argument("--analysis-id", metavar="ID", help="id of the analysis (default: new)")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="the id was submitted with other bytes: queue it again with these",
    )
    parser.add_argument(
        "--wait",
        nargs="?",
        type=float,
        const=3600.0,
        metavar="SECONDS",
        help="wait until the job has ended (default at most 3600 s) and print the final object",
    )
    parser.set_defaults(handler=run_submit)
