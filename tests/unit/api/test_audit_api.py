"""``get_report``, ``presign_download``, ``relay_once``, ``history``, ``requeue`` and ``verify``
on the embedded default (SQLite, staging and a ``file://`` store in a temporary directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

import clean_my_data
from domain.downloads.entries import ARTIFACT_KINDS
from tests.unit.api.conftest import EXAMPLE


@pytest.fixture
def committed(settings: clean_my_data.Settings) -> clean_my_data.FinalObject:
    return clean_my_data.analyze_and_commit(EXAMPLE, analysis_id="audit-1", settings=settings)


def test_pending_downloads_cannot_be_presigned_until_the_relay_uploads_them(
    settings: clean_my_data.Settings, committed: clean_my_data.FinalObject
) -> None:
    download_id = committed["report"]["downloads"][0]["download_id"]
    with pytest.raises(clean_my_data.NotUploadedError, match="is pending"):
        clean_my_data.presign_download(download_id, settings=settings)
    pending = clean_my_data.get_report("audit-1", presign=True, settings=settings)
    assert all("presigned_url" not in e for e in pending["report"]["downloads"])

    clean_my_data.relay_once(settings=settings)

    report = clean_my_data.get_report("audit-1", presign=True, settings=settings)
    entries = report["report"]["downloads"]
    assert [e["status"] for e in entries] == ["uploaded"] * len(ARTIFACT_KINDS)
    url = clean_my_data.presign_download(download_id, settings=settings)
    assert url == entries[0]["presigned_url"]
    assert Path(url.removeprefix("file://")).read_bytes()[:1]  # the uploaded object itself
    plain = clean_my_data.get_report("audit-1", settings=settings)
    assert all("presigned_url" not in e for e in plain["report"]["downloads"])


def test_unknown_ids_raise_not_found(settings: clean_my_data.Settings) -> None:
    with pytest.raises(clean_my_data.NotFoundError, match="nope"):
        clean_my_data.get_report("nope", settings=settings)
    with pytest.raises(clean_my_data.NotFoundError, match="no download 'nope'"):
        clean_my_data.presign_download("nope", settings=settings)
    with pytest.raises(clean_my_data.NotFoundError) as caught:
        clean_my_data.requeue(download_id="nope", reason="x", settings=settings)
    assert caught.value.exit_code == 1


def test_history_and_verify_after_an_upload(
    settings: clean_my_data.Settings, committed: clean_my_data.FinalObject
) -> None:
    clean_my_data.relay_once(settings=settings)
    entries = list(clean_my_data.history(analysis_id="audit-1", settings=settings))
    assert len(entries) == len(ARTIFACT_KINDS)
    assert {e.outcome for e in entries} == {"uploaded"}
    assert list(clean_my_data.history(analysis_id="other", settings=settings)) == []
    assert list(clean_my_data.history(since="1h", settings=settings)) == entries
    result = clean_my_data.verify(settings=settings)
    assert result.consistent, [p.line() for p in result.problems]
    assert result.stats.downloads == len(ARTIFACT_KINDS)


def test_verify_reports_a_deleted_object(
    settings: clean_my_data.Settings, committed: clean_my_data.FinalObject, tmp_path: Path
) -> None:
    clean_my_data.relay_once(settings=settings)
    url = clean_my_data.presign_download(
        committed["report"]["downloads"][0]["download_id"], settings=settings
    )
    Path(url.removeprefix("file://")).unlink()
    result = clean_my_data.verify(settings=settings)
    assert not result.consistent
    assert [p.code for p in result.problems] == ["object_missing"]


def test_requeue_outcomes_and_usage_errors(
    settings: clean_my_data.Settings, committed: clean_my_data.FinalObject
) -> None:
    download_id = committed["report"]["downloads"][0]["download_id"]
    report = clean_my_data.requeue(download_id=download_id, reason="check", settings=settings)
    assert report.complete
    assert [o.verdict for o in report.outcomes] == [clean_my_data.Verdict.NOT_FAILED]
    with pytest.raises(clean_my_data.UsageError, match="exactly one"):
        clean_my_data.requeue(reason="x", settings=settings)
    with pytest.raises(clean_my_data.UsageError, match="must say why"):
        clean_my_data.requeue(failed=True, reason="  ", settings=settings)


def test_history_refuses_unknown_filters_on_the_call(settings: clean_my_data.Settings) -> None:
    with pytest.raises(clean_my_data.UsageError, match="status 'done'"):
        clean_my_data.history(status="done", settings=settings)
    with pytest.raises(clean_my_data.UsageError, match="last tuesday"):
        clean_my_data.history(since="last tuesday", settings=settings)
