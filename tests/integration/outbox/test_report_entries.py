"""update_download_entries on MariaDB and SQLite: several analyses in one read and few writes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from outbox import reports
from outbox.persist import persist_analysis_report
from outbox.reports import EntryChange, update_download_entries
from outbox.tables import PENDING, UPLOAD_FAILED, UPLOADED, analysis_reports
from tests.integration.outbox.support import Backend, build_final_object, stage_artifacts


def _persist(backend: Backend, analysis_id: str) -> list[str]:
    artifacts = stage_artifacts(backend.settings, analysis_id, analysis_id.encode())
    final = build_final_object(analysis_id, artifacts, 1)
    persist_analysis_report(backend.engine, final, artifacts, backend.settings)
    return [artifact.spec.download_id for artifact in artifacts]


def _stored(backend: Backend) -> dict[str, dict[str, dict[str, Any]]]:
    with backend.engine.connect() as conn:
        rows = conn.execute(sa.select(analysis_reports.c.analysis_id, analysis_reports.c.report))
        return {
            analysis_id: {e["download_id"]: e for e in report["report"]["downloads"]}
            for analysis_id, report in rows
        }


def _count_statements(engine: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: seen.append(statement.split()[0].upper()),
    )
    return seen


def test_changes_of_several_analyses_take_one_read_and_one_write(backend: Backend) -> None:
    first = _persist(backend, "an-1")
    second = _persist(backend, "an-2")
    untouched = _persist(backend, "an-3")
    changes = [
        EntryChange("an-2", second[0], UPLOADED),
        EntryChange("an-1", first[0], UPLOADED),
        EntryChange("an-1", first[1], UPLOAD_FAILED, error="AccessDenied"),
        EntryChange("an-1", "no-such-download", UPLOADED),
        EntryChange("no-such-analysis", first[2], UPLOADED),
    ]
    statements = _count_statements(backend.engine)
    with backend.engine.begin() as conn:
        found = update_download_entries(conn, changes)

    assert found == {first[0], first[1], second[0]}
    assert [s for s in statements if s in ("SELECT", "UPDATE")] == ["SELECT", "UPDATE"]
    stored = _stored(backend)
    assert stored["an-1"][first[0]]["status"] == UPLOADED
    assert stored["an-1"][first[1]]["status"] == UPLOAD_FAILED
    assert stored["an-1"][first[1]]["error"] == "AccessDenied"
    assert stored["an-1"][first[2]]["status"] == PENDING
    assert [stored["an-2"][d]["status"] for d in second] == [UPLOADED, PENDING, PENDING]
    assert {e["status"] for e in stored["an-3"].values()} == {PENDING}
    assert set(stored["an-3"]) == set(untouched)


def test_reports_over_the_write_budget_are_written_by_several_updates(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = {analysis_id: _persist(backend, analysis_id) for analysis_id in ("a", "b", "c")}
    monkeypatch.setattr(reports, "ENTRY_WRITE_BATCH_BYTES", 1)  # every report alone
    statements = _count_statements(backend.engine)
    with backend.engine.begin() as conn:
        found = update_download_entries(
            conn, [EntryChange(a, downloads[0], UPLOADED) for a, downloads in ids.items()]
        )
    assert found == {downloads[0] for downloads in ids.values()}
    assert statements.count("UPDATE") == 3
    stored = _stored(backend)
    assert {a: stored[a][downloads[0]]["status"] for a, downloads in ids.items()} == {
        "a": UPLOADED,
        "b": UPLOADED,
        "c": UPLOADED,
    }


def test_nothing_found_writes_nothing(backend: Backend) -> None:
    _persist(backend, "an-1")
    statements = _count_statements(backend.engine)
    with backend.engine.begin() as conn:
        assert update_download_entries(conn, [EntryChange("an-1", "nope", UPLOADED)]) == set()
        assert update_download_entries(conn, []) == set()
    assert "UPDATE" not in statements
    assert statements.count("SELECT") == 1  # the empty call reads nothing
