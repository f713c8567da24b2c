"""Auditor pages: the dashboard, the attempt history, and failed downloads with requeue."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from clean_my_data.web.audit import read_relays, read_stats
from clean_my_data.web.pages import charts
from clean_my_data.web.pages.common import (
    checked_form,
    page_principal,
    render,
    require_auditor,
)
from clean_my_data.web.views import iso
from outbox.access import Principal
from outbox.audit.history import HistoryFilter, iter_history
from outbox.audit.requeue import RequeueError, Selection, requeue_downloads
from outbox.audit.timespec import TimeSpecError, parse_since
from outbox.tables import UPLOAD_FAILED, downloads, outbox_attempts

router = APIRouter(include_in_schema=False)

HISTORY_PAGE: Final = 50
FAILED_PAGE: Final = 200
MAX_REASON: Final = 1000
DOWNLOAD_STATUSES: Final = ("pending", "uploaded", "upload_failed")


async def auditor_principal(request: Request) -> Principal:
    principal = await page_principal(request)
    require_auditor(principal)
    return principal


AuditViewer = Annotated[Principal, Depends(auditor_principal)]


@router.get("/audit", response_class=HTMLResponse)
async def dashboard(request: Request, principal: AuditViewer) -> HTMLResponse:
    stats = await run_in_threadpool(read_stats, request.app.state.engine)
    relays = await run_in_threadpool(read_relays, request.app.state.engine)
    context = {
        "stats": stats,
        "failures": charts.failures_chart(stats["failures_by_hour"]),
        "relays": [
            relay | {"age_text": age_text(relay["age_seconds"])} for relay in relays["relays"]
        ],
        "stale_after": relays["stale_after_seconds"],
    }
    return render(request, "dashboard.html", context, principal=principal)


def age_text(seconds: float) -> str:
    """``42 s``, ``5 min``, ``3 h``, ``2 d``: how long ago, rounded down."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


@router.get("/audit/history", response_class=HTMLResponse)
async def history_page(
    request: Request,
    principal: AuditViewer,
    *,
    analysis_id: Annotated[str, Query(max_length=128)] = "",
    download_id: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    outcome: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=64)] = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    filters = {
        "analysis_id": analysis_id.strip(),
        "download_id": download_id.strip(),
        "status": status if status in DOWNLOAD_STATUSES else "",
        "outcome": outcome.strip(),
        "since": since.strip(),
    }
    error = None
    rows: list[dict[str, object]] = []
    try:
        since_at = parse_since(filters["since"]) if filters["since"] else None
    except TimeSpecError as exc:
        error, since_at = str(exc), None
    if error is None:
        flt = HistoryFilter(
            filters["analysis_id"] or None,
            filters["download_id"] or None,
            filters["status"] or None,
            filters["outcome"] or None,
            since_at,
            after_id=after,
        )
        rows = await run_in_threadpool(_history_rows, request.app.state.engine, flt)
    query = {k: v for k, v in filters.items() if v}
    next_after = rows[-1]["id"] if len(rows) == HISTORY_PAGE else None
    context = {
        "filters": filters,
        "statuses": DOWNLOAD_STATUSES,
        "rows": rows,
        "error": error,
        "next_url": None
        if next_after is None
        else "/audit/history?" + urlencode({**query, "after": next_after}),
        "csv_url": "/api/v1/history?" + urlencode({**query, "format": "csv", "limit": 1000}),
    }
    return render(
        request, "history.html", context, principal=principal, status=422 if error else 200
    )


def _history_rows(engine: sa.Engine, flt: HistoryFilter) -> list[dict[str, object]]:
    return [entry.as_json() for entry in itertools.islice(iter_history(engine, flt), HISTORY_PAGE)]


@router.get("/audit/failed", response_class=HTMLResponse)
async def failed_page(request: Request, principal: AuditViewer) -> HTMLResponse:
    rows = await run_in_threadpool(failed_downloads, request.app.state.engine)
    return render(request, "failed.html", {"rows": rows, "error": None}, principal=principal)


def failed_downloads(engine: sa.Engine) -> list[dict[str, Any]]:
    """Downloads whose upload failed, with the error class of their latest failed attempt."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(downloads)
            .where(downloads.c.status == UPLOAD_FAILED)
            .order_by(downloads.c.updated_at.desc(), downloads.c.download_id)
            .limit(FAILED_PAGE)
        ).all()
        ids = [row.download_id for row in rows]
        classes: dict[str, str] = {}
        if ids:
            attempts = conn.execute(
                sa.select(outbox_attempts.c.download_id, outbox_attempts.c.error_class)
                .where(
                    outbox_attempts.c.download_id.in_(ids),
                    outbox_attempts.c.error_class.is_not(None),
                )
                .order_by(outbox_attempts.c.id)
            ).all()
            classes = {a.download_id: str(a.error_class) for a in attempts}
    return [
        {
            "download_id": row.download_id,
            "analysis_id": row.analysis_id,
            "file_name": row.file_name,
            "error_class": classes.get(row.download_id, ""),
            "error": row.last_error or "",
            "updated_at": iso(row.updated_at),
        }
        for row in rows
    ]


@router.post("/audit/failed/requeue", response_class=HTMLResponse)
async def requeue_selected(request: Request, principal: AuditViewer) -> HTMLResponse:
    """First post: the confirmation page; second post (``confirmed``): the requeue."""
    form, _ = await checked_form(request)
    selected = [str(v) for v in form.getlist("download_id") if str(v).strip()][:FAILED_PAGE]
    reason = str(form.get("reason") or "").strip()
    error = None
    if not selected:
        error = "Select at least one download to requeue."
    elif not reason:
        error = "Give a reason for the requeue."
    elif len(reason) > MAX_REASON:
        error = f"The reason is longer than {MAX_REASON} characters."
    if error is not None:
        rows = await run_in_threadpool(failed_downloads, request.app.state.engine)
        context = {"rows": rows, "error": error, "selected": selected, "reason": reason}
        return render(request, "failed.html", context, principal=principal, status=422)
    if form.get("confirmed") != "yes":
        context = {"selected": selected, "reason": reason}
        return render(request, "requeue_confirm.html", context, principal=principal)
    outcomes = await run_in_threadpool(_requeue, request, selected, reason, f"web:{principal.name}")
    return render(
        request, "requeue_done.html", {"outcomes": outcomes, "reason": reason}, principal=principal
    )


def _requeue(
    request: Request, selected: list[str], reason: str, actor: str
) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    for download_id in selected:
        try:
            outcomes = requeue_downloads(
                request.app.state.engine,
                request.app.state.settings,
                Selection(download_id=download_id),
                reason=reason,
                actor=actor,
            )
        except RequeueError as exc:
            results.append({"download_id": download_id, "verdict": "refused", "detail": str(exc)})
            continue
        results.extend(outcome.as_json() for outcome in outcomes)
    return results
