"""Removing staged files no pending outbox record needs, once the grace period is over.

The grace period covers a transformer that has staged its files but not committed yet: its
files have no outbox row for a moment. Only plain files directly in STAGING_DIR are considered,
never the volume marker; a file a pending record of ANY volume names is kept; a directory that
belongs to another volume id is refused (``StagingError``) before anything is removed.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
import structlog

from outbox.settings import Settings
from outbox.staging import VOLUME_MARKER, claim_staging_volume, remove_staged
from relay.backlog import list_live_staged_paths

log = structlog.get_logger()


def sweep_orphans(engine: sa.Engine, settings: Settings, *, now: float | None = None) -> list[str]:
    """Remove orphan staged files older than RELAY_ORPHAN_GRACE_SECONDS; returns their names."""
    directory = settings.staging_dir
    if not directory.is_dir():
        return []
    claim_staging_volume(directory.resolve(), settings.staging_volume_id)
    cutoff = (time.time() if now is None else now) - settings.relay_orphan_grace_seconds
    # List files before reading the live set: a file committed after the query is then either
    # not listed or younger than the cutoff.
    candidates = [
        entry.name
        for entry in directory.iterdir()
        if entry.name != VOLUME_MARKER and entry.is_file() and entry.stat().st_mtime < cutoff
    ]
    if not candidates:
        return []
    live = list_live_staged_paths(engine)
    orphans = [name for name in candidates if name not in live]
    removed = remove_staged(settings, orphans)
    if removed:
        log.info(
            "orphans_swept", count=len(removed), grace_seconds=settings.relay_orphan_grace_seconds
        )
    return removed
