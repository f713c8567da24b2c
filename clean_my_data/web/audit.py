"""Auditor endpoints: history (JSON or CSV, keyset pages), downloads by status, requeue, stats."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any, Final

import sqlalchemy as sa
from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clean_my_data.web.auth import Auditor
from clean_my_data.web.problems import ProblemError
from clean_my_data.web.streams import format_event
from clean_my_data.web.views import iso
from outbox.audit.history import HistoryFilter, iter_history
from outbox.audit.requeue import RequeueError, Selection, requeue_downloads
from outbox.audit.timespec import TimeSpecError, parse_since
from outbox.clock import utcnow
from outbox.heartbeats import STALE_AFTER_SECONDS, RelayStatus, list_relays
from outbox.settings import Settings
from outbox.tables import (
    DOWNLOAD_STATUSES,
    JOB_STATUSES,
    OUTBOX_PENDING,
    analysis_jobs,
    downloads,
    outbox,
    outbox_attempts,
)
from relay.stores.base import ObjectStore

API: Final = "/api/v1"
MAX_PAGE: Final = 1000
HISTORY_FIELDS: Final = (
    "id",
    "recorded_at",
    "started_at",
    "analysis_id",
    "download_id",
    "outbox_id",
    "event",
    "attempt",
    "actor",
    "outcome",
    "error_class",
    "error_message",
    "bytes",
    "duration_ms",
    "object_key",
    "etag",
    "reason",
)


class RequeueBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


def register(app: FastAPI, engine: sa.Engine, settings: Settings, store: ObjectStore) -> None:
    @app.get(f"{API}/history", tags=["audit"])
    def history(
        _: Auditor,
        *,
        analysis_id: Annotated[str | None, Query(max_length=128)] = None,
        download_id: Annotated[str | None, Query(max_length=36)] = None,
        status: Annotated[str | None, Query(pattern="^(pending|uploaded|upload_failed)$")] = None,
        outcome: Annotated[str | None, Query(max_length=32)] = None,
        since: Annotated[str | None, Query(max_length=64)] = None,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Response:
        """The outbox history, oldest first, ``limit`` rows after the id ``after``; the next
        page's ``after`` is ``next_after`` (JSON) or the ``X-Next-After`` header (CSV)."""
        try:
            since_at = None if since is None else parse_since(since)
        except TimeSpecError as exc:
            raise ProblemError(422, str(exc), kind="invalid-request") from None
        flt = HistoryFilter(analysis_id, download_id, status, outcome, since_at, after_id=after)
        rows = [entry.as_json() for entry in itertools.islice(iter_history(engine, flt), limit)]
        next_after = rows[-1]["id"] if len(rows) == limit else None
        if format == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
            headers = {} if next_after is None else {"X-Next-After": str(next_after)}
            return Response(buffer.getvalue(), media_type="text/csv", headers=headers)
        return JSONResponse({"items": rows, "next_after": next_after})

    @app.get(f"{API}/downloads", tags=["audit"])
    def list_downloads(
        _: Auditor,
        status: Annotated[str | None, Query(pattern="^(pending|uploaded|upload_failed)$")] = None,
        after: Annotated[str, Query(max_length=36)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        """Downloads (optionally of one status) in download id order, keyset paged."""
        query = sa.select(
            downloads.c.download_id,
            downloads.c.analysis_id,
            downloads.c.file_name,
            downloads.c.format,
            downloads.c.size_bytes,
            downloads.c.status,
            downloads.c.last_error,
            downloads.c.updated_at,
        ).where(downloads.c.download_id > after)
        if status is not None:
            query = query.where(downloads.c.status == status)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(downloads.c.download_id).limit(limit)).all()
        items = [
            {
                "download_id": row.download_id,
                "analysis_id": row.analysis_id,
                "file_name": row.file_name,
                "format": row.format,
                "size_bytes": int(row.size_bytes),
                "status": row.status,
                "error": row.last_error,
                "updated_at": iso(row.updated_at),
            }
            for row in rows
        ]
        return {
            "items": items,
            "next_after": items[-1]["download_id"] if len(items) == limit else None,
        }

    @app.post(f"{API}/downloads/{{download_id}}/requeue", tags=["audit"])
    async def requeue(
        principal: Auditor,
        download_id: str,
        body: RequeueBody,
    ) -> dict[str, Any]:
        """Put an ``upload_failed`` download back in the queue; the token's name is the actor."""
        try:
            outcomes = await run_in_threadpool(
                requeue_downloads,
                engine,
                settings,
                Selection(download_id=download_id),
                reason=body.reason,
                actor=f"api:{principal.name}",
            )
        except RequeueError as exc:
            raise ProblemError(404, str(exc), kind="not-found") from None
        if not outcomes:
            raise ProblemError(404, f"no download {download_id!r}", kind="not-found")
        return outcomes[0].as_json()

    @app.get(f"{API}/stats/events", tags=["audit"])
    async def stats_events(_: Auditor, request: Request) -> StreamingResponse:
        """Server-Sent Events (``event: stats``): the stats whenever they change."""
        hub = request.app.state.hub

        async def events() -> AsyncIterator[str]:
            async for snapshot in hub.subscribe("stats", lambda: read_stats(engine)):
                yield format_event("stats", snapshot)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get(f"{API}/stats", tags=["audit"])
    def stats(_: Auditor) -> dict[str, Any]:
        """Counts by status, the upload backlog, the oldest pending age, failures by error
        class per hour (last 24 hours)."""
        return read_stats(engine)

    @app.get(f"{API}/relays", tags=["audit"])
    def relays(_: Auditor) -> dict[str, Any]:
        """Every relay that ever sent a heartbeat, most recently seen first, with its last
        batch; ``stale`` once not seen for ``stale_after_seconds``."""
        return read_relays(engine)


def read_relays(engine: sa.Engine) -> dict[str, Any]:
    statuses = list_relays(engine, utcnow())
    return {
        "stale_after_seconds": STALE_AFTER_SECONDS,
        "relays": [relay_json(status) for status in statuses],
    }


def relay_json(status: RelayStatus) -> dict[str, Any]:
    who, batch = status.identity, status.last_batch
    return {
        "relay_id": who.relay_id,
        "host": who.host,
        "pid": who.pid,
        "version": who.version,
        "staging_volume": who.staging_volume,
        "started_at": iso(who.started_at),
        "last_seen_at": iso(status.last_seen_at),
        "age_seconds": round(status.age_seconds, 3),
        "stale": status.stale,
        "last_batch": None
        if batch is None
        else {
            "finished_at": iso(batch.finished_at),
            "claimed": batch.claimed,
            "outcomes": dict(batch.outcomes),
            "duration_ms": batch.duration_ms,
        },
    }


def _counts(conn: sa.Connection, column: sa.Column[Any]) -> dict[str, int]:
    rows = conn.execute(sa.select(column, sa.func.count()).group_by(column)).all()
    return {str(row[0]): int(row[1]) for row in rows}


def read_stats(engine: sa.Engine) -> dict[str, Any]:
    now = utcnow()
    hour = sa.func.substr(sa.cast(outbox_attempts.c.recorded_at, sa.String), 1, 13)
    with engine.connect() as conn:
        by_download = _counts(conn, downloads.c.status)
        by_job = _counts(conn, analysis_jobs.c.status)
        backlog, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
                outbox.c.state == OUTBOX_PENDING
            )
        ).one()
        failures = conn.execute(
            sa.select(hour.label("hour"), outbox_attempts.c.error_class, sa.func.count())
            .where(
                outbox_attempts.c.error_class.is_not(None),
                outbox_attempts.c.recorded_at >= now - timedelta(hours=24),
            )
            .group_by("hour", outbox_attempts.c.error_class)
            .order_by("hour")
        ).all()
    return {
        "downloads": {status: int(by_download.get(status, 0)) for status in DOWNLOAD_STATUSES},
        "jobs": {status: int(by_job.get(status, 0)) for status in JOB_STATUSES},
        "backlog": int(backlog),
        "oldest_pending_age_seconds": None
        if oldest is None
        else round((now - oldest).total_seconds(), 3),
        "failures_by_hour": [
            {
                "hour": f"{row.hour}:00Z".replace(" ", "T"),
                "error_class": row.error_class,
                "count": int(row[2]),
            }
            for row in failures
        ],
    }
