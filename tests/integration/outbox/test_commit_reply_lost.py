"""A COMMIT whose reply is lost: persist asks the database what happened and says the truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from outbox.persist import PersistError, persist_analysis_report
from tests.integration.outbox.support import (
    Backend,
    build_final_object,
    count_rows,
    download_rows,
    stage_artifacts,
    staged_files,
)

_LOST = OSError(2013, "Lost connection to server during query")


def _fail_next_commit(monkeypatch: pytest.MonkeyPatch, *, after_committing: bool) -> list[int]:
    """The next COMMIT raises as a dropped connection does; it commits first when
    ``after_committing`` (the server committed, its reply was lost)."""
    original: Callable[[Any], None] = sa.engine.Connection._commit_impl  # type: ignore[attr-defined]
    calls: list[int] = []

    def commit_impl(self: sa.Connection) -> None:
        calls.append(1)
        if len(calls) > 1:
            original(self)
            return
        if after_committing:
            original(self)
        raise sa.exc.OperationalError("COMMIT", None, _LOST)

    monkeypatch.setattr(sa.engine.Connection, "_commit_impl", commit_impl)
    return calls


def test_a_commit_whose_reply_was_lost_is_reported_as_committed(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifacts = stage_artifacts(backend.settings, "lost-reply", b"v1")
    final = build_final_object("lost-reply", artifacts, 2)
    calls = _fail_next_commit(monkeypatch, after_committing=True)

    result = persist_analysis_report(backend.engine, final, artifacts, backend.settings)

    assert calls, "the commit was never attempted"
    assert result.analysis_id == "lost-reply"
    assert len(result.new_outbox_ids) == 3
    assert count_rows(backend.engine)["outbox"] == 3
    rows = download_rows(backend.engine, "lost-reply")
    assert {row["staged_path"] for row in rows.values()} == staged_files(backend.settings)


def test_a_commit_that_did_not_happen_is_still_reported_as_failed(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifacts = stage_artifacts(backend.settings, "no-commit", b"v1")
    final = build_final_object("no-commit", artifacts, 2)
    _fail_next_commit(monkeypatch, after_committing=False)

    with pytest.raises(PersistError, match="could not commit analysis 'no-commit'"):
        persist_analysis_report(backend.engine, final, artifacts, backend.settings)

    assert count_rows(backend.engine)["analysis_reports"] == 0
    assert staged_files(backend.settings) == set()
