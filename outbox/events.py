"""The outbox record of a download: its payload and its INSERT, written once.

Persist (a new or restaged download) and requeue (an ``upload_failed`` download put back) both
insert through :func:`insert_outbox_record`, so the relay and Debezium consumers always see the
same payload keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from domain.artifacts import CONTENT_TYPES
from domain.model import TOOL_NAME, ArtifactFormat
from outbox.tables import AGGREGATE_TYPE, EVENT_TYPE_STAGED, OUTBOX_PENDING, outbox


def build_outbox_payload(download: Mapping[Any, Any], env: str) -> dict[str, Any]:
    """The payload of a download's outbox record, from its ``downloads`` row values."""
    return {
        "download_id": download["download_id"],
        "analysis_id": download["analysis_id"],
        "object_key": download["object_key"],
        "s3_path": download["s3_path"],
        "staged_path": download["staged_path"],
        "staging_volume": download["staging_volume"],
        "size_bytes": int(download["size_bytes"]),
        "sha256": download["sha256"],
        "content_type": CONTENT_TYPES[ArtifactFormat(download["format"])],
        "file_name": download["file_name"],
        "format": download["format"],
        "tool": TOOL_NAME,
        "env": env,
    }


def insert_outbox_record(
    conn: sa.Connection, download: Mapping[Any, Any], env: str, now: datetime
) -> int:
    """Insert the pending outbox record of ``download`` (due now); returns its id."""
    result = conn.execute(
        outbox.insert().values(
            event_id=str(uuid.uuid4()),
            aggregatetype=AGGREGATE_TYPE,
            aggregateid=download["download_id"],
            type=EVENT_TYPE_STAGED,
            payload=build_outbox_payload(download, env),
            download_id=download["download_id"],
            analysis_id=download["analysis_id"],
            staging_volume=download["staging_volume"],
            state=OUTBOX_PENDING,
            attempts=0,
            available_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])
