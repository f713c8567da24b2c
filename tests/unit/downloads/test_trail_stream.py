"""The row trail written on a thread while the data is cleaned (StreamedTrail): the Parquet
file and the compact trail, bounded hand-over, and errors on either side leaving nothing
staged."""

from __future__ import annotations

import dataclasses
import errno
import io
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domain.artifacts import ArtifactSpec, MemorySink, WriteFn, WrittenArtifact
from domain.downloads import trail_parquet
from domain.downloads.trail_parquet import StreamedTrail, write_row_trail
from domain.model import ROW_ISSUE_SCHEMA, ArtifactFormat
from outbox.settings import Settings
from outbox.staging import StagingError, StagingSink
from tests.unit.downloads.fakes import StagedSinkDouble, make_issues

SPEC = ArtifactSpec("an-1", "row_trail", "sales_row_trail.parquet", ArtifactFormat.PARQUET)
BUDGET = 1 << 20


def _staging_sink(directory: Path) -> StagingSink:
    settings = dataclasses.replace(Settings(), staging_dir=directory, app_env="qa")
    return StagingSink(settings, "an-1", "2026-11-29T12:34:56Z")


def _chunks(total: int, size: int) -> list[pa.Table]:
    return [make_issues(range(s, min(s + size, total))) for s in range(0, total, size)]


def _read(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def test_streamed_trail_holds_every_row_issue_in_order(tmp_path: Path) -> None:
    chunks = [*_chunks(2_345, 400), make_issues(range(0))]
    sink = StagedSinkDouble()
    with StreamedTrail(SPEC, sink, budget_bytes=BUDGET, capacity=1) as trail:
        for chunk in chunks:
            trail.add(chunk)
        written, compact = trail.finish(row_issue_total=2_345)

    data = sink.files["sales_row_trail.parquet"]
    assert written.size_bytes == len(data)
    table = _read(data)
    assert table.schema == ROW_ISSUE_SCHEMA
    assert table.to_pylist() == pa.concat_tables(chunks).to_pylist()
    assert compact.total == 2_345


def test_streamed_and_one_go_trails_are_the_same_bytes() -> None:
    issues = make_issues(range(1_500))
    one_go, _ = write_row_trail(SPEC, issues, MemorySink(), budget_bytes=BUDGET)
    with StreamedTrail(SPEC, MemorySink(), budget_bytes=BUDGET) as trail:
        trail.add(issues)
        streamed, _ = trail.finish(row_issue_total=1_500)
    assert streamed.content == one_go.content
    assert streamed.sha256 == one_go.sha256


def test_no_row_issues_is_an_empty_file_of_the_schema() -> None:
    with StreamedTrail(SPEC, MemorySink(), budget_bytes=BUDGET) as trail:
        trail.add(make_issues(range(0)))
        written, compact = trail.finish(row_issue_total=0)
    assert written.content is not None
    table = _read(written.content)
    assert table.num_rows == 0
    assert table.schema == ROW_ISSUE_SCHEMA
    assert list(compact.render_entries()) == []


def test_a_count_mismatch_fails_the_trail() -> None:
    with StreamedTrail(SPEC, MemorySink(), budget_bytes=BUDGET) as trail:
        trail.add(make_issues(range(3)))
        with pytest.raises(ValueError, match="counted 4, wrote 3"):
            trail.finish(row_issue_total=4)


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
    with StreamedTrail(SPEC, sink, budget_bytes=BUDGET, capacity=2) as report:
        report.add(make_issues(range(0, 10)))
        report.add(make_issues(range(10, 20)))
        third = threading.Thread(target=report.add, args=(make_issues(range(20, 30)),))
        third.start()
        third.join(timeout=0.5)
        assert third.is_alive()  # waits: two chunks already wait for the writer
        sink.gate.set()
        third.join(timeout=30)
        assert not third.is_alive()
        written, _ = report.finish(row_issue_total=30)
    assert written.content is not None
    assert _read(written.content).num_rows == 30


def _add_all(report: StreamedTrail, chunks: list[pa.Table]) -> None:
    for chunk in chunks:
        report.add(chunk)
    pytest.fail("every chunk was taken although the writer failed")


def _fail_on_second_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    real = trail_parquet._RowGroups.add
    calls = {"n": 0}

    def add(self: trail_parquet._RowGroups, issues: pa.Table) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, issues)

    monkeypatch.setattr(trail_parquet._RowGroups, "add", add)


@pytest.mark.timeout(60)
def test_a_writer_error_reaches_the_caller_and_nothing_stays_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on_second_chunk(monkeypatch)
    staging = tmp_path / "staging"
    staging.mkdir()
    sink = _staging_sink(staging)
    with (
        StreamedTrail(SPEC, sink, budget_bytes=BUDGET, capacity=1) as report,
        pytest.raises(StagingError, match="no space left on the staging volume"),
    ):
        _add_all(report, _chunks(50_000, 100))  # an add raises: the writer has stopped
    assert not any(t.name.startswith("row-trail-") for t in threading.enumerate())
    assert list(staging.iterdir()) == []  # no .tmp-* file, nothing staged
    assert sink.staged == []


@pytest.mark.timeout(60)
def test_a_writer_error_after_the_last_chunk_is_raised_by_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = _staging_sink(tmp_path / "staging")
    (tmp_path / "staging").mkdir()
    with StreamedTrail(SPEC, sink, budget_bytes=BUDGET) as report:
        report.add(make_issues(range(5)))
        monkeypatch.setattr(trail_parquet._RowGroups, "flush", _raise_enospc)
        with pytest.raises(StagingError, match="no space left"):
            report.finish(row_issue_total=5)
    assert list((tmp_path / "staging").iterdir()) == []


def _raise_enospc(groups: trail_parquet._RowGroups) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _break_while_writing(sink: StagingSink, staging: Path) -> None:
    with StreamedTrail(SPEC, sink, budget_bytes=BUDGET) as report:
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
    assert not any(t.name.startswith("row-trail-") for t in threading.enumerate())
    assert list(tmp_path.iterdir()) == []
    assert sink.staged == []


def test_adding_after_finish_is_refused() -> None:
    with StreamedTrail(SPEC, MemorySink(), budget_bytes=BUDGET) as report:
        report.finish(row_issue_total=0)
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
        StreamedTrail(SPEC, _BrokenStreamSink(), budget_bytes=BUDGET, capacity=1) as report,
        pytest.raises(OSError, match="I/O error"),
    ):
        _add_all(report, chunks)
