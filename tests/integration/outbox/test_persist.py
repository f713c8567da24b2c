"""persist_analysis_report on MariaDB and SQLite: contents, re-runs, supersede, trimming."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from outbox.persist import ACTION_RESTAGED, ACTION_STAGED, ACTION_UNCHANGED, persist_analysis_report
from outbox.reports import load_report, update_download_entry
from outbox.tables import (
    AGGREGATE_TYPE,
    EVENT_SUPERSEDE,
    EVENT_TYPE_STAGED,
    OUTBOX_DONE,
    OUTBOX_PENDING,
    OUTBOX_SUPERSEDED,
    OUTCOME_SUPERSEDED,
    analysis_reports,
    downloads,
    outbox,
    outbox_attempts,
)
from tests.integration.outbox.support import (
    Backend,
    build_final_object,
    count_rows,
    download_rows,
    outbox_rows,
    stage_artifacts,
    staged_files,
)


def _persist(backend: Backend, analysis_id: str, content: bytes = b"v1", issues: int = 2):  # type: ignore[no-untyped-def]
    artifacts = stage_artifacts(backend.settings, analysis_id, content)
    final = build_final_object(analysis_id, artifacts, issues)
    return artifacts, persist_analysis_report(backend.engine, final, artifacts, backend.settings)


def _mark_uploaded(backend: Backend, analysis_id: str) -> None:
    """What the relay does after a verified upload: flip rows, delete the staged file."""
    with backend.engine.begin() as conn:
        for row in conn.execute(sa.select(downloads).where(downloads.c.analysis_id == analysis_id)):
            update_download_entry(conn, analysis_id, row.download_id, "uploaded")
            (backend.settings.staging_dir / row.staged_path).unlink()
        flip = downloads.update().where(downloads.c.analysis_id == analysis_id)
        conn.execute(flip.values(status="uploaded"))
        conn.execute(
            outbox.update()
            .where(outbox.c.analysis_id == analysis_id, outbox.c.state == OUTBOX_PENDING)
            .values(state=OUTBOX_DONE)
        )


def test_one_commit_writes_report_downloads_and_outbox_records(backend: Backend) -> None:
    artifacts, result = _persist(backend, "an-1")

    assert count_rows(backend.engine) == {
        "analysis_reports": 1,
        "downloads": 3,
        "outbox": 3,
        "outbox_attempts": 0,
    }
    assert [d.action for d in result.downloads] == [ACTION_STAGED] * 3
    rows = download_rows(backend.engine, "an-1")
    for artifact in artifacts:
        row = rows[artifact.spec.download_id]
        assert row["status"] == "pending"
        assert row["sha256"] == artifact.sha256
        assert row["size_bytes"] == artifact.size_bytes
        assert row["staged_path"] == artifact.staged_path
        assert row["s3_path"] == f"s3://cmd-bucket/{artifact.object_key}"
        assert artifact.object_key is not None
        assert artifact.object_key.startswith("base/test/clean-my-data/an-1/20261129t123456z_")
        assert (backend.settings.staging_dir / row["staged_path"]).read_bytes().startswith(b"v1:")
    records = outbox_rows(backend.engine, "an-1")
    assert {r["aggregateid"] for r in records} == set(rows)
    for record in records:
        assert record["aggregatetype"] == AGGREGATE_TYPE
        assert record["type"] == EVENT_TYPE_STAGED
        assert record["state"] == OUTBOX_PENDING
        assert record["attempts"] == 0
        assert record["lease_token"] is None
        payload = record["payload"]
        row = rows[record["download_id"]]
        assert payload["staged_path"] == row["staged_path"]
        assert payload["object_key"] == row["object_key"]
        assert payload["sha256"] == row["sha256"]
        assert payload["size_bytes"] == row["size_bytes"]
        assert payload["env"] == "test"
        assert payload["tool"] == "clean-my-data"
        assert payload["content_type"]
        assert payload["format"] == row["format"]
    stored = load_report(backend.engine, "an-1")
    assert stored is not None
    assert stored == result.final_object
    entries = stored["report"]["downloads"]
    assert [e["status"] for e in entries] == ["pending"] * 3
    assert all("content_base64" not in e for e in entries)
    assert sorted(entries[0]) == sorted(
        ["download_id", "file_name", "format", "size_bytes", "sha256", "s3_path", "status"]
    )


def test_rerun_with_the_same_bytes_changes_nothing(backend: Backend) -> None:
    first, _ = _persist(backend, "an-1")
    before_rows = download_rows(backend.engine, "an-1")
    before_outbox = outbox_rows(backend.engine, "an-1")

    second, result = _persist(backend, "an-1")

    assert [d.action for d in result.downloads] == [ACTION_UNCHANGED] * 3
    assert result.new_outbox_ids == ()
    assert count_rows(backend.engine)["outbox"] == 3
    assert outbox_rows(backend.engine, "an-1") == before_outbox
    after_rows = download_rows(backend.engine, "an-1")
    assert {k: v["staged_path"] for k, v in after_rows.items()} == {
        k: v["staged_path"] for k, v in before_rows.items()
    }
    # the second run's files were redundant and are gone; the first run's remain for the relay
    assert staged_files(backend.settings) == {a.staged_path for a in first}
    assert set(result.removed_staged_paths) == {a.staged_path for a in second}


def test_rerun_with_the_same_bytes_after_upload_keeps_the_uploaded_download(
    backend: Backend,
) -> None:
    first, _ = _persist(backend, "an-1")
    _mark_uploaded(backend, "an-1")

    _, result = _persist(backend, "an-1")

    assert [d.status for d in result.downloads] == ["uploaded"] * 3
    assert result.new_outbox_ids == ()
    assert staged_files(backend.settings) == set()
    stored = load_report(backend.engine, "an-1")
    assert stored is not None
    assert [e["status"] for e in stored["report"]["downloads"]] == ["uploaded"] * 3
    assert [e["s3_path"] for e in stored["report"]["downloads"]] == [a.s3_path for a in first]
    with backend.engine.connect() as conn:  # the stored JSON agrees with the rows too
        raw = conn.execute(sa.select(analysis_reports.c.report)).scalar_one()
    assert [e["status"] for e in raw["report"]["downloads"]] == ["uploaded"] * 3


def test_rerun_with_different_bytes_supersedes_the_pending_records(backend: Backend) -> None:
    old, _ = _persist(backend, "an-1", b"old")

    new, result = _persist(backend, "an-1", b"new")

    assert [d.action for d in result.downloads] == [ACTION_RESTAGED] * 3
    records = outbox_rows(backend.engine, "an-1")
    assert [r["state"] for r in records] == [OUTBOX_SUPERSEDED] * 3 + [OUTBOX_PENDING] * 3
    assert all(r["finished_at"] is not None for r in records[:3])
    assert {r["payload"]["sha256"] for r in records[3:]} == {a.sha256 for a in new}
    rows = download_rows(backend.engine, "an-1")
    assert {r["sha256"] for r in rows.values()} == {a.sha256 for a in new}
    assert {r["object_key"] for r in rows.values()}.isdisjoint({a.object_key for a in old})
    assert staged_files(backend.settings) == {a.staged_path for a in new}
    with backend.engine.connect() as conn:
        history = conn.execute(sa.select(outbox_attempts)).all()
    assert len(history) == 3
    assert {h.event for h in history} == {EVENT_SUPERSEDE}
    assert {h.outcome for h in history} == {OUTCOME_SUPERSEDED}
    assert {h.outbox_id for h in history} == {r["id"] for r in records[:3]}
    assert all(h.reason and "different bytes" in h.reason for h in history)
    stored = load_report(backend.engine, "an-1")
    assert stored is not None
    assert [e["sha256"] for e in stored["report"]["downloads"]] == [a.sha256 for a in new]


def test_rerun_with_different_bytes_after_upload_never_reuses_the_uploaded_key(
    backend: Backend,
) -> None:
    old, _ = _persist(backend, "an-1", b"old")
    _mark_uploaded(backend, "an-1")

    new, result = _persist(backend, "an-1", b"new")

    assert [d.action for d in result.downloads] == [ACTION_RESTAGED] * 3
    assert len(result.new_outbox_ids) == 3
    rows = download_rows(backend.engine, "an-1")
    assert {r["status"] for r in rows.values()} == {"pending"}
    old_keys = {a.object_key for a in old}
    new_records = [r for r in outbox_rows(backend.engine, "an-1") if r["state"] == OUTBOX_PENDING]
    assert {r["payload"]["object_key"] for r in new_records}.isdisjoint(old_keys)
    assert {r["object_key"] for r in rows.values()} == {a.object_key for a in new}


def test_rerun_after_upload_failed_queues_the_download_again(backend: Backend) -> None:
    _persist(backend, "an-1")
    with backend.engine.begin() as conn:
        conn.execute(downloads.update().values(status="upload_failed", last_error="denied"))
        conn.execute(outbox.update().values(state="dead"))

    second, result = _persist(backend, "an-1")

    assert [d.action for d in result.downloads] == [ACTION_RESTAGED] * 3
    rows = download_rows(backend.engine, "an-1")
    assert {r["status"] for r in rows.values()} == {"pending"}
    assert {r["last_error"] for r in rows.values()} == {None}
    assert {r["staged_path"] for r in rows.values()} == {a.staged_path for a in second}
    states = [r["state"] for r in outbox_rows(backend.engine, "an-1")]
    assert states == ["dead"] * 3 + [OUTBOX_PENDING] * 3


def test_other_analyses_are_untouched(backend: Backend) -> None:
    _persist(backend, "an-1", b"a")
    _persist(backend, "an-2", b"b")
    _persist(backend, "an-1", b"c")

    assert {r["state"] for r in outbox_rows(backend.engine, "an-2")} == {OUTBOX_PENDING}
    assert count_rows(backend.engine)["analysis_reports"] == 2


def test_a_large_final_object_is_stored_trimmed_with_a_marker(backend: Backend) -> None:
    settings = dataclasses.replace(backend.settings, report_max_bytes=4096)
    artifacts = stage_artifacts(settings, "an-big")
    final = build_final_object("an-big", artifacts, row_level_issues=500)

    result = persist_analysis_report(backend.engine, final, artifacts, settings)

    assert result.stored_trimmed
    assert len(result.final_object["report"]["rowLevelIssues"]) == 500  # the caller's copy
    stored = load_report(backend.engine, "an-big")
    assert stored is not None
    kept = len(stored["report"]["rowLevelIssues"])
    assert 0 < kept < 500
    marker = stored["trimmed"]
    assert marker["row_level_issues_total"] == 500
    assert marker["row_level_issues_kept"] == kept
    json_artifact = next(a for a in artifacts if a.spec.format == "json")
    assert marker["full_report_download_id"] == json_artifact.spec.download_id
    with backend.engine.connect() as conn:
        row = conn.execute(sa.select(analysis_reports)).one()
    assert bool(row.report_trimmed) is True
    assert row.analysis_id == "an-big"
    assert row.execution_time_ms == 42


def test_update_download_entry_changes_only_that_entry(backend: Backend) -> None:
    artifacts, _ = _persist(backend, "an-1")
    target = artifacts[1].spec.download_id

    with backend.engine.begin() as conn:
        assert update_download_entry(conn, "an-1", target, "upload_failed", error="AccessDenied")
        assert not update_download_entry(conn, "an-1", "no-such-download", "uploaded")
        assert not update_download_entry(conn, "no-such-analysis", target, "uploaded")

    with backend.engine.connect() as conn:
        raw = conn.execute(sa.select(analysis_reports.c.report)).scalar_one()
    entries = {e["download_id"]: e for e in raw["report"]["downloads"]}
    assert entries[target]["status"] == "upload_failed"
    assert entries[target]["error"] == "AccessDenied"
    others = [e for k, e in entries.items() if k != target]
    assert [e["status"] for e in others] == ["pending", "pending"]


def test_load_report_overlays_the_current_row_statuses(backend: Backend) -> None:
    artifacts, _ = _persist(backend, "an-1")
    with backend.engine.begin() as conn:  # a flip that did not touch the JSON
        conn.execute(
            downloads.update()
            .where(downloads.c.download_id == artifacts[0].spec.download_id)
            .values(status="upload_failed", last_error="boom")
        )

    stored = load_report(backend.engine, "an-1")

    assert stored is not None
    entry = stored["report"]["downloads"][0]
    assert (entry["status"], entry["error"]) == ("upload_failed", "boom")
    assert load_report(backend.engine, "missing") is None


def test_rerun_with_the_same_bytes_heals_a_pending_download_whose_file_is_gone(
    backend: Backend,
) -> None:
    first, _ = _persist(backend, "an-1")
    lost = first[0]
    assert lost.staged_path is not None
    (backend.settings.staging_dir / lost.staged_path).unlink()

    second, result = _persist(backend, "an-1")

    actions = {d.download_id: d.action for d in result.downloads}
    assert actions[lost.spec.download_id] == ACTION_RESTAGED
    assert [actions[a.spec.download_id] for a in first[1:]] == [ACTION_UNCHANGED] * 2
    rows = download_rows(backend.engine, "an-1")
    assert rows[lost.spec.download_id]["staged_path"] == second[0].staged_path
    live = [r for r in outbox_rows(backend.engine, "an-1") if r["state"] == OUTBOX_PENDING]
    assert len(live) == 3
    for record in live:
        assert (backend.settings.staging_dir / record["payload"]["staged_path"]).is_file()
