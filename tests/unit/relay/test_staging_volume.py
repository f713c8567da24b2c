"""One staging directory serves one STAGING_VOLUME_ID: a marker file names it, a second volume
id is refused, and the orphan sweep never deletes a file a live record of any volume needs."""

from __future__ import annotations

import dataclasses
import time

import pytest
import sqlalchemy as sa

from domain.model import ArtifactFormat
from outbox.settings import Settings
from outbox.staging import VOLUME_MARKER, StagingError, StagingSink
from relay.sweep import sweep_orphans
from tests.unit.relay.staged import commit_analysis

CSV = b"id\n1\n"
LATER = time.time() + 10 * 24 * 3600  # every file is past the grace period


def _other_volume(settings: Settings) -> Settings:
    return dataclasses.replace(settings, staging_volume_id="volume-b")


def test_the_staging_directory_names_its_volume_and_refuses_a_second_one(
    sqlite_engine: sa.Engine, local_settings: Settings
) -> None:
    committed = commit_analysis(sqlite_engine, local_settings, "an-1", {ArtifactFormat.CSV: CSV})
    assert sweep_orphans(sqlite_engine, local_settings) == []  # the relay claims the directory
    marker = local_settings.staging_dir / VOLUME_MARKER
    assert marker.read_text(encoding="utf-8").strip() == local_settings.staging_volume_id

    other = _other_volume(local_settings)
    with pytest.raises(StagingError) as refused:
        sweep_orphans(sqlite_engine, other, now=LATER)
    message = str(refused.value)
    assert "\n" not in message
    assert "volume-b" in message
    assert repr(local_settings.staging_volume_id) in message
    with pytest.raises(StagingError):
        _ = StagingSink(other, "an-2", "2026-11-29T12:00:00Z").directory
    staged = committed.artifacts[0].staged_path
    assert staged is not None
    assert (local_settings.staging_dir / staged).is_file()


def test_the_sweep_keeps_files_live_records_of_another_volume_need(
    sqlite_engine: sa.Engine, local_settings: Settings
) -> None:
    committed = commit_analysis(sqlite_engine, local_settings, "an-1", {ArtifactFormat.CSV: CSV})
    assert not (local_settings.staging_dir / VOLUME_MARKER).exists()  # no relay has run yet
    stray = local_settings.staging_dir / "stray.csv"
    stray.write_bytes(b"x")

    removed = sweep_orphans(sqlite_engine, _other_volume(local_settings), now=LATER)

    assert removed == ["stray.csv"]
    staged = committed.artifacts[0].staged_path
    assert staged is not None
    assert (local_settings.staging_dir / staged).is_file()
    assert (local_settings.staging_dir / VOLUME_MARKER).is_file()
