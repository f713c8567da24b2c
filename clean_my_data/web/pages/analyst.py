"""Analyst pages: upload, the report of one analysis, and the list of one's analyses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from clean_my_data.web.auth import CAN_SUBMIT, sees_everything
from clean_my_data.web.direct import direct_upload_origin
from clean_my_data.web.pages import charts
from clean_my_data.web.pages.common import PageError, page_principal, render
from clean_my_data.web.views import job_json, load_analysis, visible_to
from domain.analysis_id import MAX_ANALYSIS_ID_LENGTH
from outbox.access import Principal
from outbox.jobs.queue import read_job
from outbox.reports import load_report
from outbox.tables import analysis_jobs

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(page_principal)]

PAGE_SIZE: Final = 20
ROW_ISSUE_PREVIEW: Final = 50
MAX_COLUMN_CARDS: Final = 60  # wider tables: the first 60 columns get a card
MAX_CHART_COLUMNS: Final = 40  # the missing-share chart shows the 40 most-missing columns
MAX_ISSUE_ROWS: Final = 500  # the issues table: the 500 most severe findings
SEVERITY_RANK: Final = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SCORE_NAMES: Final = ("completeness", "validity", "uniqueness", "consistency")
NUMERIC_TYPES: Final = frozenset({"integer", "decimal"})


@dataclass(frozen=True)
class AnalysisRow:
    analysis_id: str
    status: str
    submitted_at: str | None
    input_name: str
    scores: Mapping[str, Any]


@router.get("/upload", response_class=HTMLResponse)
async def upload_page(request: Request, principal: Viewer) -> HTMLResponse:
    if principal.role not in CAN_SUBMIT:
        raise PageError(403, "Only analysts can submit files.")
    max_bytes = request.app.state.settings.max_upload_bytes
    origin = await run_in_threadpool(direct_upload_origin, request.app)
    context = {"max_bytes": max_bytes, "direct_upload": origin is not None}
    return render(
        request,
        "upload.html",
        context,
        principal=principal,
        connect_src=() if origin is None else (origin,),
    )


@router.get("/analyses", response_class=HTMLResponse)
async def my_analyses(
    request: Request,
    principal: Viewer,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    rows, next_before = await run_in_threadpool(
        list_analyses, request.app.state.engine, principal, before
    )
    return render(
        request,
        "analyses.html",
        {"rows": rows, "next_before": next_before, "first_page": before is None},
        principal=principal,
    )


def list_analyses(
    engine: sa.Engine, principal: Principal, before: int | None
) -> tuple[list[AnalysisRow], int | None]:
    """One page of analyses, newest first, keyset paged by the job's id."""
    query = sa.select(analysis_jobs.c.id, analysis_jobs.c.analysis_id)
    if not sees_everything(principal):
        query = query.where(analysis_jobs.c.submitted_by == principal.name)
    if before is not None:
        query = query.where(analysis_jobs.c.id < before)
    with engine.connect() as conn:
        found = conn.execute(query.order_by(analysis_jobs.c.id.desc()).limit(PAGE_SIZE)).all()
        jobs = [(row.id, read_job(conn, row.analysis_id)) for row in found]
    rows = []
    for _, job in jobs:
        if job is None:
            continue
        report = load_report(engine, job.analysis_id) if job.status == "succeeded" else None
        summary = (report or {}).get("report", {}).get("analysisSummary", {})
        data = job_json(job)
        rows.append(
            AnalysisRow(
                job.analysis_id,
                job.status,
                data["submitted_at"],
                job.input_name,
                summary.get("scores", {}) if isinstance(summary, Mapping) else {},
            )
        )
    next_before = int(jobs[-1][0]) if len(jobs) == PAGE_SIZE else None
    return rows, next_before


@router.get("/analyses/{analysis_id}", response_class=HTMLResponse)
async def report_page(
    request: Request,
    principal: Viewer,
    analysis_id: Annotated[str, Path(min_length=1, max_length=MAX_ANALYSIS_ID_LENGTH)],
) -> HTMLResponse:
    engine: sa.Engine = request.app.state.engine
    job, stored = await run_in_threadpool(load_analysis, engine, analysis_id)
    if (job is None and stored is None) or not visible_to(
        principal, job, sees_all=sees_everything(principal)
    ):
        raise PageError(404, f"There is no analysis {analysis_id!r} you can see.")
    context: dict[str, Any] = {
        "analysis_id": analysis_id,
        "job": None if job is None else job_json(job),
        "final": None,
    }
    if stored is not None:
        context |= report_context(stored)
    return render(request, "report.html", context, principal=principal)


def report_context(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What the report page shows, drawn from the stored final object (no pass over data);
    wide tables are capped so the page stays small whatever the input."""
    report = stored.get("report", {})
    summary = report.get("analysisSummary", {})
    scores = summary.get("scores", {})
    columns = [c for c in summary.get("columns", []) if isinstance(c, Mapping)]
    issues = [i for i in report.get("issues", []) if isinstance(i, Mapping)]
    findings: dict[str, list[Mapping[str, Any]]] = {}
    for issue in issues:
        findings.setdefault(str(issue.get("column") or ""), []).append(issue)
    column_views = [
        {
            "column": column,
            "findings": findings.get(str(column.get("name")), []),
            "spread": charts.spread_of(column.get("stats") or {})
            if column.get("inferred_type") in NUMERIC_TYPES
            else None,
            "top": None
            if column.get("inferred_type") in NUMERIC_TYPES
            else charts.top_values_chart(column),
        }
        for column in columns[:MAX_COLUMN_CARDS]
    ]
    charted = columns
    if len(columns) > MAX_CHART_COLUMNS:
        charted = sorted(columns, key=lambda c: -float(c.get("missing_share") or 0.0))
        charted = charted[:MAX_CHART_COLUMNS]
    shown_issues = issues
    if len(issues) > MAX_ISSUE_ROWS:
        shown_issues = sorted(issues, key=lambda i: SEVERITY_RANK.get(str(i.get("severity")), 9))
        shown_issues = shown_issues[:MAX_ISSUE_ROWS]
    row_issues = [r for r in report.get("rowLevelIssues", []) if isinstance(r, Mapping)]
    return {
        "final": stored,
        "scores": [(name, float(scores.get(name) or 0.0)) for name in SCORE_NAMES],
        "overall": scores.get("overall"),
        "summary": report.get("executiveSummary", ""),
        "alerts": [a for a in report.get("alerts", []) if isinstance(a, Mapping)],
        "issues": shown_issues,
        "severity_rank": SEVERITY_RANK,
        "issues_total": len(issues),
        "columns": column_views,
        "columns_total": len(columns),
        "missing_chart": charts.missing_share_chart(charted),
        "missing_chart_partial": len(charted) < len(columns),
        "row_issues": row_issues[:ROW_ISSUE_PREVIEW],
        "row_issues_total": int(report.get("rowLevelIssuesTotal") or len(row_issues)),
        "downloads": [d for d in report.get("downloads", []) if isinstance(d, Mapping)],
        "source": summary.get("source", {}),
        "shape": summary.get("shape", {}),
    }
