"""A transformer killed around the commit: before it, nothing is committed and its staged files
are orphans (no live outbox record refers to them) for the relay's sweep; after it, everything
is committed and every live outbox record has its file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from outbox import crashpoints
from outbox.tables import OUTBOX_PENDING, outbox
from tests.integration.outbox.support import Backend, count_rows, outbox_rows, staged_files

REPO = Path(__file__).resolve().parents[3]


def _run_child(backend: Backend, analysis_id: str, content: str, point: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOG_FORMAT": "json"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.outbox.crash_child",
            backend.settings.database_url,
            str(backend.settings.staging_dir),
            analysis_id,
            content,
            point,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode


def _live_staged_paths(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        payloads = conn.execute(sa.select(outbox.c.payload).where(outbox.c.state == OUTBOX_PENDING))
        return {p["staged_path"] for p in payloads.scalars()}


def test_killed_before_commit_leaves_only_orphans(backend: Backend) -> None:
    code = _run_child(backend, "an-1", "v1", crashpoints.BEFORE_COMMIT)

    assert code == crashpoints.CRASH_EXIT_CODE
    assert count_rows(backend.engine) == {
        "analysis_reports": 0,
        "downloads": 0,
        "outbox": 0,
        "outbox_attempts": 0,
    }
    orphans = staged_files(backend.settings)
    assert len(orphans) == 3
    assert orphans.isdisjoint(_live_staged_paths(backend.engine))


def test_killed_before_a_rerun_commit_keeps_the_previous_state(backend: Backend) -> None:
    assert _run_child(backend, "an-1", "v1", "-") == 0  # a clean first run
    before = outbox_rows(backend.engine, "an-1")
    live_before = _live_staged_paths(backend.engine)

    code = _run_child(backend, "an-1", "v2", crashpoints.BEFORE_COMMIT)

    assert code == crashpoints.CRASH_EXIT_CODE
    assert outbox_rows(backend.engine, "an-1") == before
    assert _live_staged_paths(backend.engine) == live_before
    assert live_before <= staged_files(backend.settings)  # every live record has its file


def test_killed_after_commit_leaves_a_complete_commit(backend: Backend) -> None:
    code = _run_child(backend, "an-1", "v1", crashpoints.AFTER_COMMIT)

    assert code == crashpoints.CRASH_EXIT_CODE
    assert count_rows(backend.engine)["outbox"] == 3
    live = _live_staged_paths(backend.engine)
    assert len(live) == 3
    assert live == staged_files(backend.settings)
