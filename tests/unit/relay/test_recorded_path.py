"""The row's s3_path is the contract: a relay whose store cannot write that exact path fails the
record with a configuration error and keeps the staged file; verify names the store it checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sqlalchemy as sa

from domain.model import ArtifactFormat
from outbox.settings import Settings
from relay.stores.base import ErrorClass
from relay.stores.local import LocalStore
from relay.verify import verify
from relay.worker import RelayWorker
from tests.unit.relay.staged import commit_analysis, read_all

CSV = b"id,name\n1,alice\n"


def test_a_relay_on_another_store_fails_the_record_and_keeps_the_staged_file(
    sqlite_engine: sa.Engine, local_settings: Settings, tmp_path: Path
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-1", {ArtifactFormat.CSV: CSV})
    other_root = tmp_path / "elsewhere"
    other = dataclasses.replace(local_settings, artifact_store_url=f"file://{other_root}")
    staged_before = sorted(p.name for p in local_settings.staging_dir.iterdir())

    worker = RelayWorker(sqlite_engine, LocalStore(other_root), other)
    worker.drain()
    worker.close()

    state = read_all(sqlite_engine)
    (download,) = state["downloads"]
    assert download["status"] == "upload_failed"
    assert download["s3_path"].startswith(f"file://{local_settings.store.bucket}/")
    assert f"file://{other_root}/" in download["last_error"]
    (attempt,) = state["history"]
    assert attempt["error_class"] == ErrorClass.STORE_MISMATCH.value
    assert sorted(p.name for p in local_settings.staging_dir.iterdir()) == staged_before
    assert not other_root.exists() or list(other_root.rglob("*")) == []


def test_verify_names_its_store_and_flags_rows_recorded_in_another(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore, tmp_path: Path
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-1", {ArtifactFormat.CSV: CSV})
    worker = RelayWorker(sqlite_engine, local_store, local_settings)
    worker.drain()
    worker.close()
    assert verify(sqlite_engine, local_store, local_settings).consistent

    other_root = tmp_path / "elsewhere"
    other_root.mkdir()
    other = dataclasses.replace(local_settings, artifact_store_url=f"file://{other_root}")
    result = verify(sqlite_engine, LocalStore(other_root), other)

    assert result.store == f"file://{other_root}/"
    assert [p.code for p in result.problems] == ["object_in_other_store"]
    assert f"file://{other_root}/" in result.problems[0].message
