"""Test helper: stage artifacts and commit them through the real outbox writer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from domain.artifacts import ArtifactSpec, WrittenArtifact
from domain.model import ArtifactFormat
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from outbox.staging import StagingSink
from outbox.tables import downloads, outbox, outbox_attempts

TIMESTAMP = "2026-11-29T12:00:00Z"
_KINDS = {
    ArtifactFormat.CSV: ("cleaned_csv", "cleaned data.csv"),
    ArtifactFormat.XLSX: ("report_xlsx", "report.xlsx"),
    ArtifactFormat.JSON: ("report_json", "report.json"),
}


@dataclass(frozen=True)
class Committed:
    analysis_id: str
    artifacts: tuple[WrittenArtifact, ...]

    @property
    def download_ids(self) -> list[str]:
        return [artifact.spec.download_id for artifact in self.artifacts]


def commit_analysis(
    engine: sa.Engine,
    settings: Settings,
    analysis_id: str,
    contents: Mapping[ArtifactFormat, bytes],
) -> Committed:
    """Stage ``contents`` (one artifact per format) and commit report, downloads and outbox."""
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    sink = StagingSink(settings, analysis_id, TIMESTAMP)
    written = []
    for fmt, data in contents.items():
        kind, name = _KINDS[fmt]
        spec = ArtifactSpec(analysis_id, kind, name, fmt)
        written.append(sink.write_artifact(spec, lambda stream, data=data: stream.write(data)))
    final_object: dict[str, Any] = {
        "analysis_id": analysis_id,
        "tool": "clean-my-data",
        "status": "success",
        "timestamp": TIMESTAMP,
        "execution_time_ms": 5,
        "report": {"alerts": [], "issues": [], "downloads": []},
    }
    persist_analysis_report(engine, final_object, written, settings)
    return Committed(analysis_id, tuple(written))


def read_all(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return {
            "downloads": [dict(r._mapping) for r in conn.execute(sa.select(downloads))],
            "outbox": [dict(r._mapping) for r in conn.execute(sa.select(outbox))],
            "history": [
                dict(r._mapping)
                for r in conn.execute(sa.select(outbox_attempts).order_by(outbox_attempts.c.id))
            ],
        }
