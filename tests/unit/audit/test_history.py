"""history lists every attempt, oldest first, with filters."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from outbox import tables as t
from outbox.audit.history import HistoryFilter, iter_history
from tests.unit.audit.rows import Seeded, Seeder


def _failed_twice_then_uploaded(seeder: Seeder, analysis_id: str = "a1") -> Seeded:
    seeded = seeder.add_download(analysis_id, "csv", attempts=3)
    start = seeder.now - timedelta(minutes=10)
    seeder.add_attempt(
        seeded,
        attempt=1,
        outcome=t.OUTCOME_RETRY,
        error_class="timeout",
        error_message="read timed out",
        at=start,
    )
    seeder.add_attempt(
        seeded,
        attempt=2,
        outcome=t.OUTCOME_RETRY,
        error_class="throttled",
        error_message="SlowDown\nplease",
        at=start + timedelta(minutes=1),
    )
    seeder.add_attempt(
        seeded,
        attempt=3,
        outcome=t.OUTCOME_UPLOADED,
        etag='"abc"',
        at=start + timedelta(minutes=3),
    )
    return seeded


def test_every_attempt_of_a_download_oldest_first(seeder: Seeder, engine: sa.Engine) -> None:
    seeder.add_report("a1")
    seeded = _failed_twice_then_uploaded(seeder)
    entries = list(iter_history(engine, HistoryFilter(download_id=seeded.download_id)))
    assert [(e.attempt, e.outcome, e.error_class) for e in entries] == [
        (1, t.OUTCOME_RETRY, "timeout"),
        (2, t.OUTCOME_RETRY, "throttled"),
        (3, t.OUTCOME_UPLOADED, None),
    ]
    last = entries[-1]
    assert last.etag == '"abc"'
    assert last.object_key == seeded.object_key
    assert last.bytes == len(seeded.content)
    assert last.actor == "relay-test:1"
    assert entries[0].as_json()["recorded_at"].endswith("Z")


def test_filters_by_analysis_outcome_status_and_since(seeder: Seeder, engine: sa.Engine) -> None:
    seeder.add_report("a1")
    seeder.add_report("a2")
    _failed_twice_then_uploaded(seeder, "a1")
    other = seeder.add_download("a2", "json")
    seeder.fail_download(other)
    assert {e.analysis_id for e in iter_history(engine, HistoryFilter(analysis_id="a2"))} == {"a2"}
    retries = list(iter_history(engine, HistoryFilter(outcome=t.OUTCOME_RETRY)))
    assert [e.attempt for e in retries] == [1, 2]
    failed = list(iter_history(engine, HistoryFilter(status=t.UPLOAD_FAILED)))
    assert [e.download_id for e in failed] == [other.download_id]
    recent = list(
        iter_history(engine, HistoryFilter(since=seeder.now - timedelta(minutes=9, seconds=30)))
    )
    assert [e.attempt for e in recent if e.analysis_id == "a1"] == [2, 3]


def test_reads_past_one_page(seeder: Seeder, engine: sa.Engine, monkeypatch: object) -> None:
    import outbox.audit.history as history

    seeder.add_report("a1")
    seeded = seeder.add_download("a1", "csv")
    for attempt in range(1, 8):
        seeder.add_attempt(seeded, attempt=attempt, outcome=t.OUTCOME_RETRY)
    setattr(history, "_PAGE_SIZE", 3)  # noqa: B010
    try:
        attempts = [e.attempt for e in iter_history(engine, HistoryFilter())]
    finally:
        setattr(history, "_PAGE_SIZE", 1000)  # noqa: B010
    assert attempts == list(range(1, 8))
