"""Values of the job queue: what is submitted, what a worker holds, what a reader sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import UserFacingError


class JobConflictError(UserFacingError):
    """The analysis id is taken by a job with other input bytes (and replacing was not asked)."""


class JobLeaseLostError(Exception):
    """The worker's lease on the job was taken over: it must commit nothing (raised inside the
    commit's transaction, it rolls the whole of it back)."""


@dataclass(frozen=True)
class JobInput:
    """An input already stored (create-only, checksummed) under ``key`` in the artifact store."""

    key: str
    name: str  # the original file name
    size: int
    sha256: str


@dataclass(frozen=True)
class Job:
    """One ``analysis_jobs`` row as readers see it."""

    id: int
    analysis_id: str
    status: str
    input_key: str
    input_name: str
    input_size: int
    input_sha256: str
    attempts: int
    max_attempts: int
    phase: str | None
    progress: float
    error_class: str | None
    error_message: str | None
    submitted_by: str
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Job:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ClaimedJob:
    """A job leased to one worker; ``lease_token`` fences every write the worker makes."""

    id: int
    analysis_id: str
    lease_token: str
    attempt: int
    max_attempts: int
    input: JobInput


@dataclass(frozen=True)
class SubmitOutcome:
    job: Job
    created: bool  # False: the same analysis id and bytes were already queued or done
    replaced_input_key: str | None = None  # the older input, no longer referenced
