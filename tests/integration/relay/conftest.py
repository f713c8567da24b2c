"""Fixtures for relay integration tests: MariaDB with the schema, settings for the real S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.settings import Settings
from relay.stores.s3 import S3Store
from tests.support.seaweed import S3Server

MakeSettings = Callable[..., Settings]


@pytest.fixture
def s3_env(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for SeaweedFS (and a staging directory), without a database."""
    # boto3's credential chain reads the environment itself (not our settings object).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    return {
        **s3_server.env(),
        "ARTIFACT_STORE_URL": f"s3://{s3_bucket}",
        "STAGING_DIR": str(staging),
        "RELAY_MULTIPART_THRESHOLD_BYTES": str(5 * 1024 * 1024),
        "RELAY_MULTIPART_CHUNK_BYTES": str(5 * 1024 * 1024),
        "S3_READ_TIMEOUT_SECONDS": "10",
        "S3_CONNECT_TIMEOUT_SECONDS": "1",
        "RELAY_BACKOFF_BASE_SECONDS": "0",
        "RELAY_BACKOFF_MAX_SECONDS": "0",
        "RELAY_MAX_ATTEMPTS": "3",
    }


@pytest.fixture
def s3_store(s3_env: dict[str, str]) -> S3Store:
    return S3Store.from_settings(Settings.from_env(s3_env))


@pytest.fixture
def make_settings(s3_env: dict[str, str], mysql_url: str) -> MakeSettings:
    """Settings for MariaDB + SeaweedFS; keyword overrides are environment variables."""

    def build(**overrides: str) -> Settings:
        return Settings.from_env({**s3_env, "DATABASE_URL": mysql_url, **overrides})

    return build


@pytest.fixture
def s3_settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


@pytest.fixture
def mysql_engine(s3_settings: Settings) -> Iterator[sa.Engine]:
    engine = create_database_engine(s3_settings)
    upgrade(engine)
    yield engine
    engine.dispose()
