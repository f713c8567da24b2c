"""Audit integration tests: MariaDB (``mysql_url``), the real S3 server, the real relay."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import sqlalchemy as sa

from clean_my_data.main import main
from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.settings import Settings
from relay.stores import open_store
from relay.stores.base import (
    ErrorClass,
    ObjectInfo,
    ObjectStore,
    StoreError,
    UploadRequest,
    UploadResult,
)
from relay.worker import RelayWorker
from tests.support.seaweed import S3Server

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sales_dirty.csv"


class ScriptedStore(ObjectStore):
    """The real store, except that uploads raise scripted errors first: ``failures`` for any
    key, ``per_key[key]`` for one object key."""

    def __init__(
        self,
        inner: ObjectStore,
        failures: list[ErrorClass] | None = None,
        per_key: dict[str, list[ErrorClass]] | None = None,
    ) -> None:
        self.inner = inner
        self.failures = list(failures or [])
        self.per_key = {key: list(errors) for key, errors in (per_key or {}).items()}

    def upload(self, request: UploadRequest) -> UploadResult:
        scripted = self.per_key.get(request.key) or self.failures
        if scripted:
            error = scripted.pop(0)
            raise StoreError(error, f"scripted {error.value}")
        return self.inner.upload(request)

    def head(self, key: str) -> ObjectInfo | None:
        return self.inner.head(key)

    def iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        return self.inner.iter_objects(prefix)

    def presign_get(self, key: str, ttl_seconds: int) -> str:
        return self.inner.presign_get(key, ttl_seconds)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def location_of(self, key: str) -> str:
        return self.inner.location_of(key)


@pytest.fixture
def env(
    mysql_url: str,
    s3_server: S3Server,
    s3_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The environment of every command in the test (also set in os.environ for the CLI)."""
    staging = tmp_path / "staging"
    staging.mkdir()
    values = {
        **s3_server.env(),
        "DATABASE_URL": mysql_url,
        "ARTIFACT_STORE_URL": f"s3://{s3_bucket}/audit",
        "STAGING_DIR": str(staging),
        "APP_ENV": "it",
        "RELAY_ID": "relay-it:1",
        "RELAY_BACKOFF_BASE_SECONDS": "0",
        "RELAY_BACKOFF_MAX_SECONDS": "0",
        "RELAY_MAX_ATTEMPTS": "3",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = create_database_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(settings: Settings) -> ObjectStore:
    return open_store(settings)


def drain_relay(engine: sa.Engine, store: ObjectStore, settings: Settings) -> None:
    """The real relay, until nothing is due."""
    worker = RelayWorker(engine, store, settings)
    try:
        worker.drain()
    finally:
        worker.close()


def run_cli(*argv: str) -> tuple[int, str]:
    """The console script in-process: (exit code, stdout)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def analyze(analysis_id: str, source: Path = EXAMPLE) -> dict[str, object]:
    code, out = run_cli("analyze", str(source), "--analysis-id", analysis_id)
    assert code == 0, out
    final = json.loads(out)
    assert isinstance(final, dict)
    return final
