"""An upload still in flight when a re-run supersedes its record: the object is stored but the
flip is lost. verify --deep recognises the object from the history (not an orphan), and an
operator clears such objects with ``verify --delete-superseded-objects`` (one history row each).

MariaDB, the real S3 server, the real relay; the slow S3 is a store that holds the first upload's
answer until the re-run has committed (the object is written, its flip comes too late).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox import tables as t
from outbox.settings import Settings
from relay.stores.base import ObjectStore, UploadRequest, UploadResult
from relay.verify import VerifyOptions, verify
from tests.integration.audit.conftest import (
    EXAMPLE,
    ScriptedStore,
    analyze,
    drain_relay,
    run_cli,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


class SlowAnswerStore(ScriptedStore):
    """Writes through to the real store; answers nothing until ``answer`` is set."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.written = threading.Event()
        self.answer = threading.Event()

    def upload(self, request: UploadRequest) -> UploadResult:
        result = self.inner.upload(request)
        self.written.set()
        assert self.answer.wait(60), "the test never let the upload answer"
        return result


def _history(engine: sa.Engine, analysis_id: str) -> list[dict[str, object]]:
    h = t.outbox_attempts
    with engine.connect() as conn:
        rows = conn.execute(sa.select(h).where(h.c.analysis_id == analysis_id).order_by(h.c.id))
        return [dict(row._mapping) for row in rows]


def test_objects_of_superseded_in_flight_uploads_are_recognised_and_cleared(
    engine: sa.Engine, store: ObjectStore, settings: Settings, tmp_path: Path
) -> None:
    analyze("inflight-1")
    slow = SlowAnswerStore(store)
    relay = threading.Thread(target=drain_relay, args=(engine, slow, settings))
    relay.start()
    try:
        assert slow.written.wait(60), "the relay never uploaded"
        other = tmp_path / "other.csv"
        other.write_bytes(EXAMPLE.read_bytes() + b"\n")  # other bytes: new artifacts
        analyze("inflight-1", other)
    finally:
        slow.answer.set()
        relay.join(120)
    history = _history(engine, "inflight-1")
    lost = [row for row in history if row["outcome"] == t.OUTCOME_LEASE_LOST]
    assert lost, history
    assert all(row["object_key"] and row["etag"] for row in lost)
    drain_relay(engine, store, settings)  # the re-run's artifacts

    result = verify(engine, store, settings, VerifyOptions(deep=True))
    assert result.problems == (), [p.line() for p in result.problems]
    assert result.stats.superseded_objects == len(lost)

    code, out = run_cli(
        "verify", "--delete-superseded-objects", "--reason", "superseded uploads cleared"
    )
    assert code == 0, out
    deleted = [str(row["object_key"]) for row in lost]
    for key in deleted:
        assert key in out
        assert store.head(key) is None
    deletions = [
        row for row in _history(engine, "inflight-1") if row["event"] == t.EVENT_DELETE_OBJECT
    ]
    assert sorted(str(row["object_key"]) for row in deletions) == sorted(deleted)
    assert {row["outcome"] for row in deletions} == {t.OUTCOME_DELETED}
    assert {row["reason"] for row in deletions} == {"superseded uploads cleared"}

    after = verify(engine, store, settings, VerifyOptions(deep=True))
    assert after.problems == ()
    assert after.stats.superseded_objects == 0
