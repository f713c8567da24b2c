"""Fixtures for relay integration tests: settings pointing at the real S3 server."""

from __future__ import annotations

from pathlib import Path

import pytest

from outbox.settings import Settings
from relay.stores.s3 import S3Store
from tests.support.seaweed import S3Server


@pytest.fixture
def s3_settings(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    # boto3's credential chain reads the environment itself (not our settings object).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    env = {
        **s3_server.env(),
        "ARTIFACT_STORE_URL": f"s3://{s3_bucket}",
        "STAGING_DIR": str(tmp_path / "staging"),
        "RELAY_MULTIPART_THRESHOLD_BYTES": str(5 * 1024 * 1024),
        "RELAY_MULTIPART_CHUNK_BYTES": str(5 * 1024 * 1024),
        "S3_READ_TIMEOUT_SECONDS": "10",
        "S3_CONNECT_TIMEOUT_SECONDS": "1",
    }
    return Settings.from_env(env)


@pytest.fixture
def s3_store(s3_settings: Settings) -> S3Store:
    return S3Store.from_settings(s3_settings)
