"""Helpers for the outbox suites: staging artifacts, building final objects, counting rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from domain.artifacts import ArtifactSpec, WrittenArtifact
from domain.model import ArtifactFormat
from outbox.settings import Settings
from outbox.staging import StagingSink
from outbox.tables import analysis_reports, downloads, outbox, outbox_attempts

TIMESTAMP = "2026-11-29T12:34:56Z"
KINDS = (
    ("cleaned_csv", "cleaned_sales.csv", ArtifactFormat.CSV),
    ("report_xlsx", "sales_report.xlsx", ArtifactFormat.XLSX),
    ("report_json", "sales_report.json", ArtifactFormat.JSON),
)


@dataclass(frozen=True)
class Backend:
    name: str
    engine: sa.Engine
    settings: Settings


def stage_artifacts(
    settings: Settings, analysis_id: str, content: bytes = b"v1", timestamp: str = TIMESTAMP
) -> list[WrittenArtifact]:
    """Three artifacts; each one's bytes are ``content`` plus its kind."""
    sink = StagingSink(settings, analysis_id, timestamp)
    written = []
    for kind, name, fmt in KINDS:
        spec = ArtifactSpec(analysis_id, kind, name, fmt)
        body = content + b":" + kind.encode()
        written.append(sink.write_artifact(spec, lambda f, b=body: f.write(b)))
    return written


def build_final_object(
    analysis_id: str,
    artifacts: Sequence[WrittenArtifact],
    row_level_issues: int = 2,
) -> dict[str, Any]:
    return {
        "analysis_id": analysis_id,
        "tool": "clean-my-data",
        "status": "success",
        "timestamp": TIMESTAMP,
        "execution_time_ms": 42,
        "report": {
            "alerts": [],
            "issues": [{"code": "duplicate_rows", "count": 1}],
            "recommendations": [],
            "executiveSummary": "ok",
            "analysisSummary": {"rows": 3},
            "rowLevelIssues": [
                {"row": i + 2, "code": "null_sentinel", "old_value": "N/A" * 5}
                for i in range(row_level_issues)
            ],
            "issueSummary": {},
            "routing_decisions": {},
            "downloads": [
                {
                    "download_id": a.spec.download_id,
                    "file_name": a.spec.file_name,
                    "format": str(a.spec.format),
                    "size_bytes": a.size_bytes,
                    "sha256": a.sha256,
                    "s3_path": a.s3_path,
                    "status": "pending",
                }
                for a in artifacts
            ],
        },
    }


def count_rows(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (analysis_reports, downloads, outbox, outbox_attempts)
        }


def staged_files(settings: Settings) -> set[str]:
    return {p.name for p in settings.staging_dir.iterdir()}


def outbox_rows(engine: sa.Engine, analysis_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox).where(outbox.c.analysis_id == analysis_id).order_by(outbox.c.id)
        )
        return [dict(r._mapping) for r in rows]


def download_rows(engine: sa.Engine, analysis_id: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(downloads).where(downloads.c.analysis_id == analysis_id))
        return {r.download_id: dict(r._mapping) for r in rows}
