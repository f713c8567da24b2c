"""``clean_my_data.analyze_and_commit`` / ``analyze_inline`` on the embedded default (SQLite and a
staging directory in a temporary directory)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import clean_my_data
from domain.downloads.entries import ARTIFACT_KINDS
from outbox.db import open_database
from tests.unit.api.conftest import EXAMPLE


class JobFailedError(Exception):
    """The caller's own error, raised from inside the transaction."""


@pytest.fixture
def engine(settings: clean_my_data.Settings) -> Iterator[sa.Engine]:
    engine = open_database(settings)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL)")
        conn.exec_driver_sql("INSERT INTO jobs VALUES ('job-1', 'running')")
    yield engine
    engine.dispose()


def _count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def _job_state(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT state FROM jobs WHERE id = 'job-1'").scalar_one())


def test_analyze_and_commit_stages_and_commits_one_analysis(
    settings: clean_my_data.Settings,
) -> None:
    final = clean_my_data.analyze_and_commit(EXAMPLE, analysis_id="api-1", settings=settings)
    assert final["analysis_id"] == "api-1"
    entries = final["report"]["downloads"]
    assert [e["status"] for e in entries] == ["pending"] * len(ARTIFACT_KINDS)
    assert len(list(settings.staging_dir.iterdir())) == len(ARTIFACT_KINDS)
    engine = open_database(settings)
    try:
        assert _count(engine, "SELECT COUNT(*) FROM analysis_reports") == 1
        assert _count(engine, "SELECT COUNT(*) FROM downloads") == len(ARTIFACT_KINDS)
        assert _count(engine, "SELECT COUNT(*) FROM outbox") == len(ARTIFACT_KINDS)
    finally:
        engine.dispose()


def test_in_transaction_work_commits_with_the_analysis(
    settings: clean_my_data.Settings, engine: sa.Engine
) -> None:
    seen: list[int] = []

    def mark_succeeded(conn: sa.Connection) -> None:
        # the analysis' rows are visible to the callback: it runs in the same transaction
        seen.append(int(conn.exec_driver_sql("SELECT COUNT(*) FROM downloads").scalar_one()))
        conn.exec_driver_sql("UPDATE jobs SET state = 'succeeded' WHERE id = 'job-1'")

    clean_my_data.analyze_and_commit(
        EXAMPLE,
        analysis_id="api-2",
        settings=settings,
        engine=engine,
        in_transaction=mark_succeeded,
    )
    assert seen == [len(ARTIFACT_KINDS)]
    assert _job_state(engine) == "succeeded"
    assert _count(engine, "SELECT COUNT(*) FROM analysis_reports") == 1
    with engine.connect() as conn:  # the caller's engine is not disposed
        assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1


def test_in_transaction_failure_rolls_everything_back(
    settings: clean_my_data.Settings, engine: sa.Engine
) -> None:
    def fence_lost(conn: sa.Connection) -> None:
        conn.exec_driver_sql("UPDATE jobs SET state = 'succeeded' WHERE id = 'job-1'")
        raise JobFailedError("lease lost")

    with pytest.raises(JobFailedError, match="lease lost"):
        clean_my_data.analyze_and_commit(
            EXAMPLE,
            analysis_id="api-3",
            settings=settings,
            engine=engine,
            in_transaction=fence_lost,
        )
    assert _job_state(engine) == "running"
    assert _count(engine, "SELECT COUNT(*) FROM analysis_reports") == 0
    assert _count(engine, "SELECT COUNT(*) FROM outbox") == 0
    assert list(settings.staging_dir.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\xff" * 50, b"\n\n\n"])
def test_bad_input_raises_input_error_and_leaves_nothing(
    settings: clean_my_data.Settings, tmp_path: Path, content: bytes
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(clean_my_data.InputError) as caught:
        clean_my_data.analyze_and_commit(bad, analysis_id="bad-1", settings=settings)
    assert caught.value.exit_code == 65
    assert "\n" not in str(caught.value)
    assert list(settings.staging_dir.iterdir()) == []


def test_missing_file_and_malformed_id_raise_documented_errors(
    settings: clean_my_data.Settings, tmp_path: Path
) -> None:
    with pytest.raises(clean_my_data.InputError, match="no such file"):
        clean_my_data.analyze_and_commit(tmp_path / "nope.csv", settings=settings)
    with pytest.raises(clean_my_data.UsageError, match="may hold only") as caught:
        clean_my_data.analyze_inline(EXAMPLE, analysis_id="../x", settings=settings)
    assert caught.value.exit_code == 2
    assert isinstance(caught.value, clean_my_data.CleanMyDataError)


def test_a_missing_staging_directory_is_a_storage_error(
    settings: clean_my_data.Settings, tmp_path: Path
) -> None:
    settings.staging_dir.rmdir()
    with pytest.raises(clean_my_data.StorageError, match="does not exist"):
        clean_my_data.analyze_and_commit(EXAMPLE, settings=settings)


def test_analyze_inline_returns_base64_and_stores_nothing(
    settings: clean_my_data.Settings, tmp_path: Path
) -> None:
    final = clean_my_data.analyze_inline(EXAMPLE, analysis_id="inline-1", settings=settings)
    entries = final["report"]["downloads"]
    assert [e["format"] for e in entries] == ["csv", "xlsx", "json", "parquet"]
    csv_bytes = base64.b64decode(entries[0]["content_base64"])
    assert len(csv_bytes.decode("utf-8-sig").splitlines()) > 1
    assert len(csv_bytes) == entries[0]["size_bytes"]
    assert not (tmp_path / "db.sqlite3").exists()
    assert list(settings.staging_dir.iterdir()) == []


def test_analyze_inline_over_the_limit_is_an_input_error(
    settings: clean_my_data.Settings,
) -> None:
    small = dataclasses.replace(settings, inline_max_bytes=100)
    with pytest.raises(clean_my_data.InputError, match="INLINE_MAX_BYTES"):
        clean_my_data.analyze_inline(EXAMPLE, settings=small)


def test_analyze_dispatches_on_upload_to_s3(settings: clean_my_data.Settings) -> None:
    inline = clean_my_data.analyze(EXAMPLE, upload_to_s3=False, settings=settings)
    assert all("content_base64" in e for e in inline["report"]["downloads"])
    staged = clean_my_data.analyze(EXAMPLE, upload_to_s3=True, settings=settings)
    assert all(e["status"] == "pending" for e in staged["report"]["downloads"])
