"""All or nothing: a failure after ANY statement of the transaction (or at COMMIT) leaves the
database as it was and removes the files this run staged; if the database cannot even be asked,
the files stay for the relay's orphan sweep."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from structlog.testing import capture_logs

from outbox.persist import PersistError, persist_analysis_report
from outbox.tables import analysis_reports, downloads, outbox, outbox_attempts
from tests.integration.outbox.support import (
    Backend,
    build_final_object,
    count_rows,
    stage_artifacts,
    staged_files,
)


class InjectedError(RuntimeError):
    pass


@contextmanager
def fail_after_statement(
    engine: sa.Engine, number: int, make_error: Callable[[], BaseException] | None = None
) -> Iterator[list[str]]:
    """Raise after the ``number``-th statement (1-based); with ``make_error`` every later
    statement fails too (the database is gone)."""
    seen: list[str] = []

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "_LOCK(" in statement:  # MySQL's named analysis lock: outside the transaction
            return
        seen.append(statement)
        if len(seen) == number or (make_error is not None and len(seen) > number):
            raise make_error() if make_error is not None else InjectedError(statement[:60])

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)


def _count_statements(backend: Backend, analysis_id: str, content: bytes) -> int:
    """How many statements a persist of this shape executes (on a throwaway analysis id)."""
    artifacts = stage_artifacts(backend.settings, analysis_id, content)
    final = build_final_object(analysis_id, artifacts)
    with fail_after_statement(backend.engine, 10_000) as seen:
        persist_analysis_report(backend.engine, final, artifacts, backend.settings)
    return len(seen)


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(sa.select(table))),
            )
            for table in (analysis_reports, downloads, outbox, outbox_attempts)
        }


def test_a_failure_after_any_statement_of_a_first_commit_leaves_nothing(backend: Backend) -> None:
    # the first persist on an engine also reads the server's max_allowed_packet (once per
    # engine); the loop below runs on a warm engine, so the probe does too
    _count_statements(backend, "warm-up", b"x")
    total = _count_statements(backend, "probe", b"x")
    assert total >= 9  # 2 locked reads, the report upsert, 2 writes per artifact
    with backend.engine.begin() as conn:  # forget the probe
        for table in (outbox_attempts, outbox, downloads, analysis_reports):
            conn.execute(table.delete())
    for path in staged_files(backend.settings):
        (backend.settings.staging_dir / path).unlink()
    empty = _snapshot(backend.engine)

    for number in range(1, total + 1):
        artifacts = stage_artifacts(backend.settings, "an-1", b"x")
        final = build_final_object("an-1", artifacts)
        with (
            fail_after_statement(backend.engine, number),
            pytest.raises(InjectedError),
        ):
            persist_analysis_report(backend.engine, final, artifacts, backend.settings)
        assert _snapshot(backend.engine) == empty, f"rows left after statement {number}"
        assert staged_files(backend.settings) == set(), f"files left after statement {number}"


def test_a_failure_during_a_rerun_keeps_the_previous_commit_intact(backend: Backend) -> None:
    total = _count_statements(backend, "an-1", b"old")  # commits an-1 with the old bytes
    old_files = staged_files(backend.settings)
    before = _snapshot(backend.engine)
    for number in range(1, 100):  # until the re-run has no statement left to fail after
        artifacts = stage_artifacts(backend.settings, "an-1", b"new")
        final = build_final_object("an-1", artifacts)
        with fail_after_statement(backend.engine, number) as seen:
            try:
                persist_analysis_report(backend.engine, final, artifacts, backend.settings)
            except InjectedError:
                pass
            else:  # it ran to the end: every statement has been a failing point
                assert len(seen) == number - 1 > total  # the re-run also superseded
                break
        assert _snapshot(backend.engine) == before, f"rows changed after statement {number}"
        assert staged_files(backend.settings) == old_files, f"files after statement {number}"
    else:
        pytest.fail("the re-run never completed")


def test_a_failure_at_commit_leaves_nothing(backend: Backend) -> None:
    artifacts = stage_artifacts(backend.settings, "an-1")
    final = build_final_object("an-1", artifacts)

    def refuse(conn: Any) -> None:
        raise InjectedError("commit refused")

    event.listen(backend.engine, "commit", refuse)
    try:
        with pytest.raises(InjectedError):
            persist_analysis_report(backend.engine, final, artifacts, backend.settings)
    finally:
        event.remove(backend.engine, "commit", refuse)

    assert count_rows(backend.engine) == {
        "analysis_reports": 0,
        "downloads": 0,
        "outbox": 0,
        "outbox_attempts": 0,
    }
    assert staged_files(backend.settings) == set()


def test_when_the_database_is_gone_the_files_are_left_as_orphans(backend: Backend) -> None:
    artifacts = stage_artifacts(backend.settings, "an-1")
    final = build_final_object("an-1", artifacts)

    def gone() -> BaseException:
        return sa.exc.OperationalError("SELECT", {}, Exception("server has gone away"))

    with (
        capture_logs() as logs,
        fail_after_statement(backend.engine, 2, gone),
        pytest.raises(PersistError, match="could not commit analysis 'an-1'") as raised,
    ):
        persist_analysis_report(backend.engine, final, artifacts, backend.settings)

    assert "\n" not in str(raised.value)
    assert count_rows(backend.engine)["analysis_reports"] == 0
    assert staged_files(backend.settings) == {a.staged_path for a in artifacts}
    left = [entry for entry in logs if entry["event"] == "staged_files_left_for_sweep"]
    assert left
    assert set(left[0]["staged_paths"]) == {a.staged_path for a in artifacts}
