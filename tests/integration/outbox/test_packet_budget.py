"""The stored report never exceeds what the server's max_allowed_packet accepts: it is trimmed
to fit, or the commit is refused in one line (never a raw driver error)."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from domain.errors import UserFacingError
from outbox import db
from outbox.persist import persist_analysis_report
from outbox.reports import load_report
from outbox.tables import analysis_reports
from tests.integration.outbox.support import (
    Backend,
    build_final_object,
    count_rows,
    stage_artifacts,
)


def test_the_budget_follows_the_servers_max_allowed_packet(backend: Backend) -> None:
    with backend.engine.connect() as conn:
        budget = db.stored_json_budget(conn)
        if backend.name == "sqlite":
            assert budget is None
            return
        packet = int(conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar_one())
    assert budget == (packet - db.STATEMENT_OVERHEAD_BYTES) // 2


def test_a_report_larger_than_the_packet_is_trimmed_to_fit(backend: Backend) -> None:
    """REPORT_MAX_BYTES above what the server accepts, a report of 20 MB of top values."""
    settings = dataclasses.replace(backend.settings, report_max_bytes=1 << 30)
    artifacts = stage_artifacts(settings, "an-packet")
    final = build_final_object("an-packet", artifacts, row_level_issues=10)
    final["report"]["topValues"] = ["v" * (1 << 20)] * 20
    result = persist_analysis_report(backend.engine, final, artifacts, settings)
    if backend.name == "sqlite":  # no packet limit: stored whole
        assert not result.stored_trimmed
        assert result.stored_bytes > 20 << 20
        return
    assert result.stored_trimmed
    stored = load_report(backend.engine, "an-packet")
    assert stored is not None
    assert stored["trimmed"]["values_truncated_to_characters"] == 4096
    with backend.engine.connect() as conn:
        assert result.stored_bytes <= (db.stored_json_budget(conn) or 0)
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_reports)).scalar() == 1


def test_a_report_that_cannot_fit_is_refused_in_one_line(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "stored_json_budget", lambda _conn: 2048)
    monkeypatch.setattr("outbox.persist.stored_json_budget", lambda _conn: 2048)
    artifacts = stage_artifacts(backend.settings, "an-tiny")
    final = build_final_object("an-tiny", artifacts, row_level_issues=10)
    final["report"]["columns"] = [{"name": f"c{i}"} for i in range(2000)]
    with pytest.raises(UserFacingError, match="max_allowed_packet") as caught:
        persist_analysis_report(backend.engine, final, artifacts, backend.settings)
    assert "\n" not in str(caught.value)
    assert count_rows(backend.engine)["analysis_reports"] == 0
