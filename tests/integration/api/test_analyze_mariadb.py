"""``analyze_and_commit`` on MariaDB: the caller's work inside the commit transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import clean_my_data
from domain.downloads.entries import ARTIFACT_KINDS
from outbox.db import create_database_engine
from outbox.migrations import upgrade

pytestmark = [pytest.mark.mariadb]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "sales_dirty.csv"


class LeaseLostError(Exception):
    """The caller's fence check failed."""


@pytest.fixture
def settings(mysql_url: str, tmp_path: Path) -> clean_my_data.Settings:
    staging = tmp_path / "staging"
    staging.mkdir()
    return clean_my_data.Settings(
        database_url=mysql_url,
        staging_dir=staging,
        artifact_store_url="s3://bucket/prefix",
    )


@pytest.fixture
def engine(settings: clean_my_data.Settings) -> Iterator[sa.Engine]:
    engine = create_database_engine(settings)
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE jobs (id VARCHAR(64) PRIMARY KEY, state VARCHAR(16) NOT NULL, "
            "lease_token VARCHAR(64) NOT NULL)"
        )
        conn.exec_driver_sql("INSERT INTO jobs VALUES ('job-1', 'running', 'token-1')")
    yield engine
    engine.dispose()


def _finish(token: str) -> clean_my_data.InTransaction:
    def finish(conn: sa.Connection) -> None:
        done = conn.execute(
            sa.text(
                "UPDATE jobs SET state = 'succeeded' "
                "WHERE id = 'job-1' AND state = 'running' AND lease_token = :token"
            ),
            {"token": token},
        ).rowcount
        if done != 1:
            raise LeaseLostError("job-1 is no longer ours")

    return finish


def _scalar(engine: sa.Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar_one()


def test_a_lost_fence_commits_nothing(settings: clean_my_data.Settings, engine: sa.Engine) -> None:
    with pytest.raises(LeaseLostError):
        clean_my_data.analyze_and_commit(
            EXAMPLE,
            analysis_id="job-1",
            settings=settings,
            engine=engine,
            in_transaction=_finish("token-stale"),
        )
    assert _scalar(engine, "SELECT COUNT(*) FROM analysis_reports") == 0
    assert _scalar(engine, "SELECT COUNT(*) FROM outbox") == 0
    assert _scalar(engine, "SELECT state FROM jobs") == "running"
    assert list(settings.staging_dir.iterdir()) == []


def test_the_job_and_the_analysis_commit_together(
    settings: clean_my_data.Settings, engine: sa.Engine
) -> None:
    final = clean_my_data.analyze_and_commit(
        EXAMPLE,
        analysis_id="job-1",
        settings=settings,
        engine=engine,
        in_transaction=_finish("token-1"),
    )
    assert [e["status"] for e in final["report"]["downloads"]] == ["pending"] * len(ARTIFACT_KINDS)
    assert _scalar(engine, "SELECT state FROM jobs") == "succeeded"
    assert _scalar(engine, "SELECT COUNT(*) FROM outbox") == len(ARTIFACT_KINDS)
