"""The audit views answer the auditors' questions on SQLite (MariaDB: integration tests)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from outbox import tables as t
from outbox.audit.views import VIEW_NAMES
from outbox.migrations import upgrade
from tests.unit.audit.rows import Seeder


def _rows(engine: sa.Engine, sql: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def test_the_schema_files_create_every_view_and_a_second_upgrade_keeps_them(
    engine: sa.Engine,
) -> None:
    assert upgrade(engine) == []
    assert set(sa.inspect(engine).get_view_names()) == set(VIEW_NAMES)


def test_views_answer_backlog_age_failures_timeline_and_leases(
    engine: sa.Engine, seeder: Seeder
) -> None:
    seeder.add_report("a1")
    seeder.add_download("a1", "csv", status=t.UPLOADED, staged=False, outbox_state=t.OUTBOX_DONE)
    failed = seeder.add_download("a1", "json")
    seeder.fail_download(failed, error_class="access_denied")
    stuck = seeder.add_download("a1", "xlsx")
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.outbox)
            .where(t.outbox.c.id == stuck.outbox_id)
            .values(
                created_at=seeder.now - timedelta(hours=2),
                lease_token="tok",
                lease_owner="relay-x:9",
                lease_expires_at=seeder.now - timedelta(minutes=10),
            )
        )

    backlog = {
        (r["source"], r["status"]): r["row_count"]
        for r in _rows(engine, "SELECT * FROM audit_backlog_by_status")
    }
    assert backlog == {
        ("downloads", "pending"): 1,
        ("downloads", "uploaded"): 1,
        ("downloads", "upload_failed"): 1,
        ("outbox", "pending"): 1,
        ("outbox", "done"): 1,
        ("outbox", "dead"): 1,
    }

    [oldest] = _rows(engine, "SELECT * FROM audit_oldest_pending")
    assert oldest["pending_rows"] == 1
    assert oldest["due_rows"] == 1
    assert 7190 <= int(oldest["oldest_age_seconds"]) <= 7300  # type: ignore[call-overload]

    [failures] = _rows(engine, "SELECT * FROM audit_failures_by_error_class")
    assert failures["error_class"] == "access_denied"
    assert (failures["terminal_failures"], failures["downloads_affected"]) == (1, 1)

    timeline = _rows(
        engine,
        "SELECT event, outcome, file_name FROM audit_analysis_timeline "
        "WHERE analysis_id = 'a1' ORDER BY happened_at, seq",
    )
    events = [(r["event"], r["outcome"]) for r in timeline]
    assert events[0] == ("enqueued", "pending")  # the stuck record was created 2h ago
    assert ("analysed", "success") in events
    assert ("upload", "uploaded") in events
    assert ("upload", "failed") in events

    [lease] = _rows(engine, "SELECT * FROM audit_expired_leases")
    assert lease["download_id"] == stuck.download_id
    assert lease["lease_owner"] == "relay-x:9"
    assert 590 <= int(lease["expired_for_seconds"]) <= 700  # type: ignore[call-overload]
