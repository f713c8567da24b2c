"""The FastAPI application: analyses, downloads, audit, health and metrics under ``/api/v1``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

import sqlalchemy as sa
from fastapi import FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from clean_my_data.jobs.inputs import InputStoreError
from clean_my_data.jobs.submit import queue_stored_input
from clean_my_data.web import audit, direct
from clean_my_data.web.auth import Reader, Submitter, sees_everything
from clean_my_data.web.bodies import install_body_limit
from clean_my_data.web.crosssite import install_cross_site_guard
from clean_my_data.web.direct import uploaded_input
from clean_my_data.web.metrics import install_metrics
from clean_my_data.web.pages.install import install_pages
from clean_my_data.web.problems import ProblemError, install_problem_handlers
from clean_my_data.web.streams import StreamHub, format_event
from clean_my_data.web.uploads import (
    check_declared_length,
    raw_file_name,
    receive_multipart,
    receive_raw,
)
from clean_my_data.web.views import (
    analysis_document,
    etag_of,
    job_has_ended,
    job_json,
    load_analysis,
    visible_to,
)
from domain.analysis_id import ANALYSIS_ID_PATTERN, MAX_ANALYSIS_ID_LENGTH
from domain.errors import InputError
from outbox.access import Principal
from outbox.jobs.model import JobConflictError, JobInput
from outbox.jobs.queue import load_job
from outbox.settings import Settings
from outbox.tables import PENDING, ROLE_ADMIN, UPLOAD_FAILED, UPLOADED, downloads
from relay.presign import build_presigner
from relay.stores.base import ObjectStore
from relay.stores.local import LocalStore

API: Final = "/api/v1"
MAX_WAIT_SECONDS: Final = 60
WAIT_POLL_SECONDS: Final = 1.0
PENDING_RETRY_AFTER_SECONDS: Final = 5
IDEMPOTENCY_NAMESPACE: Final = uuid.UUID("0b5e3c1e-6f1e-4c55-9a39-7d0c3c1b2a10")

ID_PATTERN: Final = f"^{ANALYSIS_ID_PATTERN.pattern}$"


def _path_id(max_length: int) -> Any:
    return Path(min_length=1, max_length=max_length, pattern=ID_PATTERN)


def is_upload(scope: Scope) -> bool:
    """A submission's raw or multipart body (capped by ``MAX_UPLOAD_BYTES`` as it is written);
    every other body is small (web/bodies.py)."""
    if scope.get("method") != "POST" or scope.get("path") != f"{API}/analyses":
        return False
    content_type: bytes = dict(scope.get("headers", ())).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() != b"application/json"


def create_app(
    settings: Settings, engine: sa.Engine, store: ObjectStore, *, open_access: bool
) -> FastAPI:
    app = FastAPI(
        title="clean-my-data",
        version="1",
        description="Submit CSV/XLSX files for analysis; read reports; download artifacts.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = store
    app.state.open_access = open_access
    app.state.presign = build_presigner(settings) if settings.store.is_s3 else None
    install_problem_handlers(app)
    install_body_limit(app, is_upload)
    install_cross_site_guard(app)
    install_metrics(app)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The database and the object store are reachable."""
        checks: dict[str, str] = {}
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except sa.exc.SQLAlchemyError as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            store.head("inputs/.readiness-probe")
            checks["store"] = "ok"
        except Exception as exc:  # noqa: BLE001 (reported, not raised)
            checks["store"] = f"unreachable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.post(f"{API}/analyses", status_code=202, tags=["analyses"])
    async def submit_analysis(
        request: Request,
        principal: Submitter,
        *,
        analysis_id: Annotated[
            str | None, Query(min_length=1, max_length=MAX_ANALYSIS_ID_LENGTH, pattern=ID_PATTERN)
        ] = None,
        file_name: Annotated[str | None, Query(max_length=255)] = None,
        replace: bool = False,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> JSONResponse:
        """The file as the body (any content type) or as the multipart part ``file``; 202 with
        ``Location`` and the job. The same ``analysis_id`` (or ``Idempotency-Key``) with the
        same bytes answers the same job."""
        multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
        check_declared_length(request, settings.max_upload_bytes, multipart=multipart)
        if analysis_id is None:
            analysis_id = (
                str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{principal.name}\x00{idempotency_key}"))
                if idempotency_key
                else str(uuid.uuid4())
            )
        existing = await run_in_threadpool(load_job, engine, analysis_id)
        if (
            existing is not None
            and principal.role != ROLE_ADMIN
            and not visible_to(principal, existing, sees_all=False)
        ):
            raise ProblemError(409, f"analysis id {analysis_id!r} is taken", kind="conflict")
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip() == "application/json":
            job_input, _ = await uploaded_input(request, settings, store)
            return await _queue(principal, analysis_id, job_input, replace=replace)
        try:
            if multipart:
                job_input = await receive_multipart(request, store, settings)
            else:
                name = raw_file_name(request, file_name)
                job_input = await receive_raw(request, store, settings, name)
        except InputError as exc:
            raise ProblemError(422, str(exc), kind="invalid-input") from None
        except InputStoreError as exc:
            raise ProblemError(
                503, str(exc), kind="store-unavailable", headers={"Retry-After": "30"}
            ) from None
        return await _queue(principal, analysis_id, job_input, replace=replace)

    async def _queue(
        principal: Principal, analysis_id: str, job_input: JobInput, *, replace: bool
    ) -> JSONResponse:
        try:
            outcome = await run_in_threadpool(
                queue_stored_input,
                engine,
                store,
                settings,
                analysis_id=analysis_id,
                job_input=job_input,
                submitted_by=principal.name,
                replace=replace,
            )
        except JobConflictError as exc:
            raise ProblemError(409, str(exc), kind="conflict") from None
        location = f"{API}/analyses/{analysis_id}"
        return JSONResponse(
            {"job": job_json(outcome.job), "created": outcome.created},
            status_code=202,
            headers={"Location": location},
        )

    async def _visible_analysis(
        principal: Principal, analysis_id: str
    ) -> tuple[Any, dict[str, Any] | None]:
        job, report = await run_in_threadpool(load_analysis, engine, analysis_id)
        if (job is None and report is None) or not visible_to(
            principal, job, sees_all=sees_everything(principal)
        ):
            raise ProblemError(404, f"no analysis {analysis_id!r}", kind="not-found")
        return job, report

    @app.get(f"{API}/analyses/{{analysis_id}}", tags=["analyses"])
    async def get_analysis(
        request: Request,
        principal: Reader,
        analysis_id: Annotated[str, _path_id(MAX_ANALYSIS_ID_LENGTH)],
        wait: Annotated[int, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
    ) -> Response:
        """The job and, once committed, the final object; ``presigned_url`` minted now for
        uploaded downloads. ``?wait=N`` waits up to N s (at most 60) for the job to end."""
        job, report = await _visible_analysis(principal, analysis_id)
        deadline = time.monotonic() + wait
        while not job_has_ended(job) and time.monotonic() < deadline:
            await asyncio.sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            job, report = await run_in_threadpool(load_analysis, engine, analysis_id)
        unsigned = analysis_document(analysis_id, job, report, None)
        etag = etag_of(unsigned)
        if etag in _etags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers={"ETag": etag})
        presign = app.state.presign
        document = (  # without presigned URLs (a local store) the same document
            unsigned
            if presign is None
            else await run_in_threadpool(analysis_document, analysis_id, job, report, presign)
        )
        return JSONResponse(document, headers={"ETag": etag, "Cache-Control": "no-store"})

    @app.get(f"{API}/analyses/{{analysis_id}}/downloads/{{download_id}}", tags=["analyses"])
    async def get_download(
        principal: Reader,
        analysis_id: Annotated[str, _path_id(MAX_ANALYSIS_ID_LENGTH)],
        download_id: Annotated[str, _path_id(36)],
    ) -> Response:
        """307 to a fresh presigned URL when uploaded (the local store streams the file,
        Range supported); 409 with ``Retry-After`` while pending; 409 with the error when the
        upload failed."""
        await _visible_analysis(principal, analysis_id)
        row = await run_in_threadpool(_download_row, engine, analysis_id, download_id)
        if row is None:
            raise ProblemError(404, f"no download {download_id!r}", kind="not-found")
        if row.status == PENDING:
            raise ProblemError(
                409,
                "the file is not uploaded yet; try again shortly",
                kind="download-pending",
                title="Download pending",
                headers={"Retry-After": str(PENDING_RETRY_AFTER_SECONDS)},
            )
        if row.status == UPLOAD_FAILED:
            raise ProblemError(
                409,
                f"the upload failed: {row.last_error or 'unknown error'}",
                kind="download-failed",
                title="Download failed",
            )
        assert row.status == UPLOADED
        if app.state.presign is not None:
            url = await run_in_threadpool(app.state.presign, row.s3_path)
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        key = store.key_of(row.s3_path)
        if key is None or not isinstance(store, LocalStore):
            raise ProblemError(404, "the file is not in the configured store", kind="not-found")
        path = store.local_path(key)
        return FileResponse(path, filename=row.file_name, media_type=_media_type(row.format))

    hub = StreamHub()
    app.state.hub = hub

    @app.get(f"{API}/analyses/{{analysis_id}}/events", tags=["analyses"])
    async def analysis_events(
        principal: Reader, analysis_id: Annotated[str, _path_id(MAX_ANALYSIS_ID_LENGTH)]
    ) -> StreamingResponse:
        """Server-Sent Events (``event: analysis``): the job's status, phase and progress and
        each download's status, sent when they change; the stream ends once the job has ended
        and no download is pending."""
        await _visible_analysis(principal, analysis_id)

        def read() -> dict[str, Any]:
            job, report = load_analysis(engine, analysis_id)
            entries = [] if report is None else report.get("report", {}).get("downloads", [])
            return {
                "job": None if job is None else job_json(job),
                "downloads": [
                    {key: entry.get(key) for key in ("download_id", "format", "status", "error")}
                    for entry in entries
                    if isinstance(entry, dict)
                ],
            }

        async def events() -> AsyncIterator[str]:
            async for snapshot in hub.subscribe(f"analysis:{analysis_id}", read):
                yield format_event("analysis", snapshot)
                if snapshot is not None and _settled(snapshot):
                    return

        return StreamingResponse(events(), media_type="text/event-stream", headers=_SSE_HEADERS)

    audit.register(app, engine, settings, store)
    direct.register(app, settings, store)
    install_pages(app)
    return app


_SSE_HEADERS: Final = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _settled(snapshot: dict[str, Any]) -> bool:
    job = snapshot["job"]
    if job is None or job["status"] not in ("succeeded", "failed"):
        return False
    return job["status"] == "failed" or all(
        entry["status"] != PENDING for entry in snapshot["downloads"]
    )


def _download_row(engine: sa.Engine, analysis_id: str, download_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(downloads).where(
                downloads.c.analysis_id == analysis_id, downloads.c.download_id == download_id
            )
        ).first()


def _media_type(file_format: str) -> str:
    return {
        "csv": "text/csv; charset=utf-8",
        "json": "application/json",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }.get(file_format, "application/octet-stream")


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {part.strip().removeprefix("W/") for part in header.split(",")}
