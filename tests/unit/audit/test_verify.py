"""verify reports each invariant broken on purpose, and nothing on a consistent state."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox import tables as t
from outbox.audit.staged import StagedState
from outbox.reports import update_download_entry
from outbox.settings import Settings
from relay.verify import VerifyOptions, key_prefix, verify
from tests.unit.audit.rows import FakeStore, Seeded, Seeder, staged_file


def _codes(engine: sa.Engine, store: FakeStore, settings: Settings, **opts: bool) -> list[str]:
    result = verify(engine, store, settings, VerifyOptions(**opts))
    return [p.code for p in result.problems]


def _consistent_world(seeder: Seeder) -> tuple[Seeded, Seeded]:
    seeder.add_report("a1")
    uploaded = seeder.add_uploaded("a1", "csv")
    pending = seeder.add_download("a1", "json")
    return uploaded, pending


def test_consistent_state_has_no_problems_and_needs_no_head(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    _consistent_world(seeder)
    result = verify(engine, store, settings)
    assert result.problems == ()
    assert result.consistent
    assert result.stats.downloads == 2
    assert result.stats.objects_listed == 1
    assert store.heads == []  # size from the listing, content vouched for by the recorded ETag


def test_deep_heads_every_uploaded_object(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, _ = _consistent_world(seeder)
    assert _codes(engine, store, settings, deep=True) == []
    assert store.heads == [uploaded.object_key]


def test_deleted_object_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, _ = _consistent_world(seeder)
    store.delete(uploaded.object_key)
    result = verify(engine, store, settings)
    assert [p.code for p in result.problems] == ["object_missing"]
    problem = result.problems[0]
    assert problem.invariant == 1
    assert problem.download_id == uploaded.download_id
    assert uploaded.object_key in problem.line()


def test_object_overwritten_with_other_bytes_of_same_size_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, _ = _consistent_world(seeder)
    forged = bytes(reversed(uploaded.content))
    store.put(uploaded.object_key, forged, sha256_metadata=False)  # like a bare PUT
    assert _codes(engine, store, settings) == ["object_sha256_unknown"]
    store.put(uploaded.object_key, forged, sha256_metadata=True)  # PUT that sets metadata
    assert _codes(engine, store, settings) == ["object_sha256_mismatch"]
    assert store.heads.count(uploaded.object_key) == 2  # HEAD only because the ETag changed


def test_object_with_other_size_is_reported_from_the_listing(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, _ = _consistent_world(seeder)
    store.put(uploaded.object_key, uploaded.content + b"extra")
    assert _codes(engine, store, settings) == ["object_size_mismatch"]
    assert store.heads == []


def test_without_listing_etags_uploaded_objects_are_headed(
    engine: sa.Engine, settings: Settings, seeder: Seeder, store: FakeStore
) -> None:
    uploaded, _ = _consistent_world(seeder)
    store.list_etags = False
    assert _codes(engine, store, settings) == []
    assert store.heads == [uploaded.object_key]


def test_pending_download_whose_staged_file_was_deleted_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    _, pending = _consistent_world(seeder)
    staged_file(settings, pending).unlink()
    result = verify(engine, store, settings)
    assert [(p.invariant, p.code) for p in result.problems] == [(2, "staged_file_missing")]


def test_pending_download_whose_staged_file_changed_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    _, pending = _consistent_world(seeder)
    path = staged_file(settings, pending)
    path.write_bytes(bytes(reversed(path.read_bytes())))
    assert _codes(engine, store, settings) == ["staged_file_sha256_mismatch"]
    path.write_bytes(b"short")
    assert _codes(engine, store, settings) == ["staged_file_size_mismatch"]


def test_pending_download_without_live_outbox_row_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    seeder.add_report("a2")
    seeder.add_download("a2", "csv", outbox_state=None)
    assert _codes(engine, store, settings) == ["pending_without_outbox_row"]


def test_edited_report_json_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, pending = _consistent_world(seeder)
    r = t.analysis_reports
    with engine.begin() as conn:
        report = conn.execute(sa.select(r.c.report).where(r.c.analysis_id == "a1")).scalar_one()
        entries = report["report"]["downloads"]
        entries[0]["sha256"] = "0" * 64
        entries[0]["status"] = "pending"
        del entries[1]
        entries.append({"download_id": "not-a-row", "status": "uploaded"})
        conn.execute(sa.update(r).where(r.c.analysis_id == "a1").values(report=report))
    result = verify(engine, store, settings)
    assert sorted(p.code for p in result.problems) == [
        "report_entry_differs",
        "report_entry_without_row",
        "row_missing_from_report",
    ]
    differs = next(p for p in result.problems if p.code == "report_entry_differs")
    assert differs.invariant == 3
    assert "sha256" in differs.message
    assert "status" in differs.message
    missing = next(p for p in result.problems if p.code == "row_missing_from_report")
    assert missing.download_id == pending.download_id
    assert uploaded.download_id == differs.download_id


def test_old_staged_file_without_pending_record_is_reported_fresh_one_is_not(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    _consistent_world(seeder)
    old = settings.staging_dir / "leftover.csv"
    old.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    (settings.staging_dir / ".tmp-fresh").write_bytes(b"y")  # a run still writing
    result = verify(engine, store, settings)
    assert [(p.invariant, p.code) for p in result.problems] == [(4, "staged_file_orphaned")]
    assert "leftover.csv" in result.problems[0].message


def test_lease_expired_for_more_than_one_period_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    _, pending = _consistent_world(seeder)
    other = seeder.add_download("a1", "xlsx")
    with engine.begin() as conn:
        for seeded, expired_ago in ((pending, 3 * 60), (other, 30)):
            conn.execute(
                sa.update(t.outbox)
                .where(t.outbox.c.id == seeded.outbox_id)
                .values(
                    lease_token="tok",
                    lease_owner="relay-dead:7",
                    lease_expires_at=seeder.now - timedelta(seconds=expired_ago),
                )
            )
    result = verify(engine, store, settings, now=seeder.now)
    assert [(p.invariant, p.code, p.download_id) for p in result.problems] == [
        (5, "lease_expired", pending.download_id)
    ]
    assert "relay-dead:7" in result.problems[0].message


def test_orphan_object_is_reported_superseded_object_is_not(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, _ = _consistent_world(seeder)
    prefix = key_prefix(settings)
    assert prefix == "pfx/test/clean-my-data/"
    store.put(prefix + "a9/20260101t000000z_stray.csv", b"stray")
    store.put("elsewhere/not-ours.csv", b"not ours")  # outside our prefix: ignored
    # an object an earlier, superseded run uploaded: known from the history
    old_key = prefix + "a1/20250101t000000z_cleaned-old.csv"
    store.put(old_key, b"old bytes")
    seeder.add_attempt(uploaded, attempt=1, outcome=t.OUTCOME_UPLOADED, etag=None)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.outbox_attempts)
            .where(
                t.outbox_attempts.c.id
                == sa.select(sa.func.max(t.outbox_attempts.c.id)).scalar_subquery()
            )
            .values(object_key=old_key)
        )
    result = verify(engine, store, settings)
    assert [(p.invariant, p.code) for p in result.problems] == [(1, "orphan_object")]
    assert "stray.csv" in result.problems[0].message
    assert result.stats.superseded_objects == 1


def test_finished_record_without_history_is_reported(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    uploaded, _ = _consistent_world(seeder)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.outbox).where(t.outbox.c.id == uploaded.outbox_id).values(attempts=3)
        )
    result = verify(engine, store, settings)
    assert [(p.invariant, p.code) for p in result.problems] == [
        (6, "attempts_missing_from_history")
    ]
    assert "3 attempts counted but 1 in the history" in result.problems[0].message
    with engine.begin() as conn:
        conn.execute(sa.delete(t.outbox_attempts))
    messages = [p.message for p in verify(engine, store, settings).problems if p.invariant == 6]
    assert len(messages) == 1
    assert "no history row for its final outcome (done)" in messages[0]


def test_reads_in_small_chunks_give_the_same_answer(
    engine: sa.Engine, store: FakeStore, settings: Settings, seeder: Seeder
) -> None:
    for number in range(7):
        analysis_id = f"chunk{number}"
        seeder.add_report(analysis_id)
        seeder.add_uploaded(analysis_id, "csv")
        seeder.add_download(analysis_id, "json")
    victim = "chunk4"
    keys = [k for k in store.objects if f"/{victim}/" in k]
    store.delete(keys[0])
    small = verify(engine, store, settings, VerifyOptions(chunk_size=3))
    assert [p.code for p in small.problems] == ["object_missing"]
    assert small.stats.downloads == 14
    assert small.stats.reports == 7


def test_pending_row_uploaded_while_verify_runs_is_not_a_problem(
    engine: sa.Engine,
    store: FakeStore,
    settings: Settings,
    seeder: Seeder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, pending = _consistent_world(seeder)
    import relay.verify as verify_module

    real_check = verify_module.check_staged_file

    def relay_finishes_first(path: Path, size: int, sha: str) -> StagedState:
        # the relay uploads the file, flips the row and removes the staged file right now
        with engine.begin() as conn:
            conn.execute(
                sa.update(t.downloads)
                .where(t.downloads.c.download_id == pending.download_id)
                .values(status=t.UPLOADED, updated_at=seeder.now + timedelta(seconds=1))
            )
            update_download_entry(conn, "a1", pending.download_id, t.UPLOADED)
        path.unlink()
        return real_check(path, size, sha)

    monkeypatch.setattr(verify_module, "check_staged_file", relay_finishes_first)
    assert _codes(engine, store, settings) == []
