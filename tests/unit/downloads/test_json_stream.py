"""The JSON report written on a thread while the data is cleaned (StreamedJsonReport): the
document, bounded hand-over, and errors on either side leaving nothing staged."""

from __future__ import annotations

import dataclasses
import errno
import json
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pytest

from domain.artifacts import ArtifactSpec, MemorySink, WriteFn, WrittenArtifact
from domain.downloads import json_downloads
from domain.downloads.json_downloads import (
    DOCUMENT_PREFIX,
    StreamedJsonReport,
    write_json_report,
)
from domain.model import ArtifactFormat
from outbox.settings import Settings
from outbox.staging import StagingError, StagingSink
from tests.unit.downloads.fakes import StagedSinkDouble, make_content, make_issues

SPEC = ArtifactSpec("an-1", "report_json", "sales_report.json", ArtifactFormat.JSON)


def _staging_sink(directory: Path) -> StagingSink:
    settings = dataclasses.replace(Settings(), staging_dir=directory, app_env="qa")
    return StagingSink(settings, "an-1", "2026-11-29T12:34:56Z")


def _chunks(total: int, size: int) -> list[pa.Table]:
    return [make_issues(range(s, min(s + size, total))) for s in range(0, total, size)]


def _final_object(tmp_path: Path, rows: int) -> dict[str, Any]:
    return dict(make_content(tmp_path, rows).final_object)


def _expected(final_object: dict[str, Any], issues: list[pa.Table]) -> dict[str, Any]:
    expected = json.loads(json.dumps(final_object))
    rows = [row for table in issues for row in table.to_pylist()]
    expected["report"]["rowLevelIssues"] = rows
    expected["report"]["rowLevelIssuesTruncated"] = False
    return expected


def test_streamed_report_parses_to_the_final_object_with_every_row_issue(tmp_path: Path) -> None:
    final_object = _final_object(tmp_path, 2_345)
    assert final_object["report"]["rowLevelIssuesTruncated"] is True  # bounded in the object
    chunks = [*_chunks(2_345, 400), make_issues(range(0))]
    sink = StagedSinkDouble()
    with StreamedJsonReport(SPEC, sink, capacity=1) as report:
        for chunk in chunks:
            report.add(chunk)
        written = report.finish(final_object, row_issue_total=2_345)

    data = sink.files["sales_report.json"]
    assert data.startswith(DOCUMENT_PREFIX)  # constant prefix: written before the end is known
    assert written.size_bytes == len(data)
    document = json.loads(data)
    assert document == _expected(final_object, chunks)
    assert [i["row"] for i in document["report"]["rowLevelIssues"]] == list(range(2, 2_347))
    assert document["report"]["rowLevelIssuesTotal"] == 2_345


def test_streamed_and_one_go_reports_are_the_same_bytes(tmp_path: Path) -> None:
    content = make_content(tmp_path, 1_500)
    one_go = write_json_report(SPEC, content, MemorySink())
    with StreamedJsonReport(SPEC, MemorySink()) as report:
        for batch in content.row_issues():
            report.add(pa.Table.from_batches([batch]))
        streamed = report.finish(content.final_object, row_issue_total=content.row_issue_total)
    assert streamed.content == one_go.content
    assert streamed.sha256 == one_go.sha256


def test_no_row_issues_is_an_empty_array(tmp_path: Path) -> None:
    final_object = _final_object(tmp_path, 0)
    with StreamedJsonReport(SPEC, MemorySink()) as report:
        report.add(make_issues(range(0)))
        written = report.finish(final_object, row_issue_total=0)
    assert written.content is not None
    document = json.loads(written.content)
    assert document == _expected(final_object, [])
    assert document["report"]["rowLevelIssues"] == []


def test_a_count_mismatch_fails_the_report(tmp_path: Path) -> None:
    with StreamedJsonReport(SPEC, MemorySink()) as report:
        report.add(make_issues(range(3)))
        with pytest.raises(ValueError, match="counted 4, wrote 3"):
            report.finish(_final_object(tmp_path, 3), row_issue_total=4)


class _GatedSink(MemorySink):
    """Lets the test hold the writer thread inside the artifact (to fill the hand-over)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        self.gate.wait(timeout=30)
        return super().write_artifact(spec, write)


@pytest.mark.timeout(60)
def test_the_hand_over_is_bounded(tmp_path: Path) -> None:
    sink = _GatedSink()
    with StreamedJsonReport(SPEC, sink, capacity=2) as report:
        report.add(make_issues(range(0, 10)))
        report.add(make_issues(range(10, 20)))
        third = threading.Thread(target=report.add, args=(make_issues(range(20, 30)),))
        third.start()
        third.join(timeout=0.5)
        assert third.is_alive()  # waits: two chunks already wait for the writer
        sink.gate.set()
        third.join(timeout=30)
        assert not third.is_alive()
        written = report.finish(_final_object(tmp_path, 30), row_issue_total=30)
    assert written.content is not None
    assert len(json.loads(written.content)["report"]["rowLevelIssues"]) == 30


def _add_all(report: StreamedJsonReport, chunks: list[pa.Table]) -> None:
    for chunk in chunks:
        report.add(chunk)
    pytest.fail("every chunk was taken although the writer failed")


def _fail_on_second_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    real = json_downloads._serialise_batch
    calls = {"n": 0}

    def serialise(batch: pa.RecordBatch) -> memoryview:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(batch)

    monkeypatch.setattr(json_downloads, "_serialise_batch", serialise)


@pytest.mark.timeout(60)
def test_a_writer_error_reaches_the_caller_and_nothing_stays_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on_second_batch(monkeypatch)
    staging = tmp_path / "staging"
    staging.mkdir()
    sink = _staging_sink(staging)
    with (
        StreamedJsonReport(SPEC, sink, capacity=1) as report,
        pytest.raises(StagingError, match="no space left on the staging volume"),
    ):
        _add_all(report, _chunks(50_000, 100))  # an add raises: the writer has stopped
    assert not any(t.name.startswith("json-report-") for t in threading.enumerate())
    assert list(staging.iterdir()) == []  # no .tmp-* file, nothing staged
    assert sink.staged == []


@pytest.mark.timeout(60)
def test_a_writer_error_after_the_last_chunk_is_raised_by_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = _staging_sink(tmp_path / "staging")
    (tmp_path / "staging").mkdir()
    with StreamedJsonReport(SPEC, sink) as report:
        report.add(make_issues(range(5)))
        monkeypatch.setattr(json_downloads, "render_trailer", _raise_enospc)
        with pytest.raises(StagingError, match="no space left"):
            report.finish(_final_object(tmp_path, 5), row_issue_total=5)
    assert list((tmp_path / "staging").iterdir()) == []


def _raise_enospc(final_object: Any) -> bytes:
    raise OSError(errno.ENOSPC, "No space left on device")


def _break_while_writing(sink: StagingSink, staging: Path) -> None:
    with StreamedJsonReport(SPEC, sink) as report:
        report.add(make_issues(range(1_000)))
        deadline = time.monotonic() + 30
        while not any(p.name.startswith(".tmp-") for p in staging.iterdir()):
            assert time.monotonic() < deadline, "the writer never opened its file"
            time.sleep(0.01)
        raise RuntimeError("engine broke")


@pytest.mark.timeout(60)
def test_an_error_in_the_callers_thread_stops_the_writer_and_nothing_stays_staged(
    tmp_path: Path,
) -> None:
    sink = _staging_sink(tmp_path)
    with pytest.raises(RuntimeError, match="engine broke"):
        _break_while_writing(sink, tmp_path)
    assert not any(t.name.startswith("json-report-") for t in threading.enumerate())
    assert list(tmp_path.iterdir()) == []
    assert sink.staged == []


def test_adding_after_finish_is_refused(tmp_path: Path) -> None:
    with StreamedJsonReport(SPEC, MemorySink()) as report:
        report.finish(_final_object(tmp_path, 0), row_issue_total=0)
        with pytest.raises(RuntimeError, match="already finished"):
            report.add(make_issues(range(1)))


class _BrokenStreamSink(MemorySink):
    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        class Broken:
            def write(self, data: bytes) -> int:
                raise OSError(errno.EIO, "I/O error")

        def broken(stream: BinaryIO) -> None:
            write(Broken())  # type: ignore[arg-type]

        return super().write_artifact(spec, broken)


@pytest.mark.timeout(60)
def test_a_writer_that_dies_at_once_does_not_leave_the_caller_waiting() -> None:
    chunks = [make_issues(range(start, start + 10)) for start in range(0, 100_000, 10)]
    with (
        StreamedJsonReport(SPEC, _BrokenStreamSink(), capacity=1) as report,
        pytest.raises(OSError, match="I/O error"),
    ):
        _add_all(report, chunks)
