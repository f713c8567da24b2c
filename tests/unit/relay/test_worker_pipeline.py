"""The drain's pipeline: claim-ahead, group commits, staged-file removal (SQLite, local store)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa

from domain.model import ArtifactFormat
from outbox.settings import Settings
from outbox.tables import OUTBOX_DONE, OUTBOX_PENDING, OUTCOME_UPLOADED, UPLOADED, outbox
from relay.stores.base import UploadRequest, UploadResult
from relay.stores.local import LocalStore
from relay.worker import RelayWorker
from tests.unit.relay.staged import commit_analysis, read_all


def _settings(engine: sa.Engine, tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": str(engine.url),
            "ARTIFACT_STORE_URL": f"file://{tmp_path / 'objects'}",
            "STAGING_DIR": str(tmp_path / "staging"),
            **extra,
        }
    )


def test_a_backlog_of_many_batches_is_drained_once_each(
    sqlite_engine: sa.Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    settings = _settings(sqlite_engine, tmp_path, RELAY_BATCH_SIZE="3", RELAY_CONCURRENCY="2")
    for index in range(10):
        data = f"n\n{index}\n".encode()
        commit_analysis(sqlite_engine, settings, f"many-{index}", {ArtifactFormat.CSV: data})
    worker = RelayWorker(sqlite_engine, local_store, settings)
    summaries = worker.drain()
    worker.close()
    assert sorted(s.claimed for s in summaries) == [1, 3, 3, 3]
    state = read_all(sqlite_engine)
    assert {o["state"] for o in state["outbox"]} == {OUTBOX_DONE}
    assert {d["status"] for d in state["downloads"]} == {UPLOADED}
    assert sorted((h["outbox_id"], h["outcome"], h["attempt"]) for h in state["history"]) == [
        (o["id"], OUTCOME_UPLOADED, 1) for o in sorted(state["outbox"], key=lambda o: o["id"])
    ]
    assert list(settings.staging_dir.iterdir()) == []  # removed before drain returned


def _leased(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(outbox.c.lease_token.is_not(None))
            ).scalar_one()
        )


class SecondUploadGate(LocalStore):
    """Blocks the second upload until released (the first batch's last one)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls = 0
        self.blocked = threading.Event()
        self.release = threading.Event()

    def upload(self, request: UploadRequest) -> UploadResult:
        self.calls += 1
        if self.calls == 2:
            self.blocked.set()
            assert self.release.wait(30)
        return super().upload(request)


def test_a_stop_releases_the_batch_claimed_ahead(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    settings = _settings(sqlite_engine, tmp_path, RELAY_BATCH_SIZE="2", RELAY_CONCURRENCY="1")
    for index in range(4):
        commit_analysis(sqlite_engine, settings, f"stop-{index}", {ArtifactFormat.CSV: b"x\n1\n"})
    gate = SecondUploadGate(tmp_path / "objects")
    worker = RelayWorker(sqlite_engine, gate, settings)
    drain = threading.Thread(target=worker.drain)
    drain.start()
    assert gate.blocked.wait(30)
    # the first batch's last upload runs: the second batch is claimed ahead, then we stop
    deadline = time.monotonic() + 30
    while _leased(sqlite_engine) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _leased(sqlite_engine) == 4
    worker.request_stop()
    gate.release.set()
    drain.join(30)
    assert not drain.is_alive()
    worker.close()
    state = read_all(sqlite_engine)
    assert gate.calls == 2
    assert sorted(
        (o["state"], o["attempts"], o["lease_token"] is None) for o in state["outbox"]
    ) == [
        (OUTBOX_DONE, 1, False),
        (OUTBOX_DONE, 1, False),
        (OUTBOX_PENDING, 0, True),
        (OUTBOX_PENDING, 0, True),
    ]
    assert [h["outcome"] for h in state["history"]] == [OUTCOME_UPLOADED, OUTCOME_UPLOADED]
