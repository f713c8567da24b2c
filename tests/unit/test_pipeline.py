from __future__ import annotations

import base64
import csv
import dataclasses
import errno
import io
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.artifacts import ArtifactSink, derive_download_id
from domain.downloads import json_downloads
from domain.downloads.bounded_sink import BoundedMemorySink, InlineLimitError
from domain.downloads.excel_downloads import ROW_ISSUES_SHEET_MAX_ROWS
from domain.errors import InputError
from domain.pipeline import (
    PHASE_ANALYSING,
    PHASE_CLEANING,
    PHASE_REPORTING,
    FinalResult,
    run_analysis,
)
from outbox.settings import Settings
from outbox.staging import StagingError, StagingSink
from tests.unit.downloads.fakes import FakeAnalysis, StagedSinkDouble, fake_engine

MOMENT = datetime(2026, 11, 29, 12, 34, 56, tzinfo=UTC)


def _run(
    tmp_path: Path,
    analysis_id: str,
    *,
    name: str = "in.csv",
    inline: bool = True,
    sink: ArtifactSink | None = None,
    scratch_dir: Path | None = None,
    **options: Any,
) -> FinalResult:
    """``run_analysis`` on ``tmp_path / name``, scratch in ``tmp_path`` unless given."""
    return run_analysis(
        tmp_path / name,
        analysis_id=analysis_id,
        inline=inline,
        sink=sink,
        scratch_dir=scratch_dir or tmp_path,
        **options,
    )


def test_inline_run_returns_the_final_object_with_three_base64_downloads(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = _run(
        tmp_path,
        "an-1",
        name="Sales Data.csv",
        scratch_dir=scratch,
        timestamp=MOMENT,
        analyze=fake_engine(2_500, chunk_rows=400),
    )
    final = result.final_object
    assert final["analysis_id"] == "an-1"
    assert final["timestamp"] == "2026-11-29T12:34:56Z"
    assert final["execution_time_ms"] >= 0
    downloads = final["report"]["downloads"]
    assert [d["format"] for d in downloads] == ["csv", "xlsx", "json"]
    assert [d["download_id"] for d in downloads] == [
        derive_download_id("an-1", kind) for kind in ("cleaned_csv", "report_xlsx", "report_json")
    ]
    assert all("content_base64" in d and "s3_path" not in d for d in downloads)
    assert len(final["report"]["rowLevelIssues"]) == 100
    assert final["report"]["rowLevelIssuesTotal"] == 2_500
    json.dumps(final, allow_nan=False)
    assert list(scratch.iterdir()) == []  # scratch removed

    csv_rows = list(
        csv.reader(io.StringIO(base64.b64decode(downloads[0]["content_base64"]).decode()))
    )
    assert len(csv_rows) == 2_501
    document = json.loads(base64.b64decode(downloads[2]["content_base64"]))
    assert len(document["report"]["rowLevelIssues"]) == 2_500
    assert [d["format"] for d in document["report"]["downloads"]] == ["csv", "xlsx"]
    assert "content_base64" not in document["report"]["downloads"][0]
    workbook = load_workbook(io.BytesIO(base64.b64decode(downloads[1]["content_base64"])))
    assert workbook["Cleaned data"].max_row == 2_501


def test_staged_run_uses_the_sink_and_returns_pending_entries(tmp_path: Path) -> None:
    sink = StagedSinkDouble()
    result = _run(
        tmp_path,
        "an-2",
        inline=False,
        sink=sink,
        timestamp=MOMENT,
        analyze=fake_engine(300),
    )
    assert sorted(sink.files) == ["cleaned_in.csv", "in_report.json", "in_report.xlsx"]
    entries = result.final_object["report"]["downloads"]
    assert [e["status"] for e in entries] == ["pending"] * 3
    assert [a.spec.kind for a in result.artifacts] == ["cleaned_csv", "report_xlsx", "report_json"]
    for entry, artifact in zip(entries, result.artifacts, strict=True):
        assert entry["sha256"] == artifact.sha256
        assert entry["size_bytes"] == len(sink.files[entry["file_name"]])
        assert entry["s3_path"] == artifact.s3_path
    staged_json = json.loads(sink.files["in_report.json"])
    assert staged_json["report"]["downloads"][0]["sha256"] == entries[0]["sha256"]


def test_progress_reports_each_phase(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    _run(
        tmp_path,
        "an-3",
        progress=lambda phase, done, total: seen.append((phase, done, total)),
        analyze=fake_engine(2_000, chunk_rows=1_000),
    )
    assert seen == [  # the fake engine counts rows where the real one counts bytes
        (PHASE_ANALYSING, 50, 100),
        (PHASE_ANALYSING, 100, 100),
        (PHASE_CLEANING, 1_000, 2_000),
        (PHASE_CLEANING, 2_000, 2_000),
        (PHASE_REPORTING, 0, 2),
        (PHASE_REPORTING, 1, 2),
        (PHASE_REPORTING, 2, 2),
    ]


def test_same_input_and_id_give_identical_artifacts(tmp_path: Path) -> None:
    def run() -> list[str]:
        result = _run(
            tmp_path,
            "an-4",
            timestamp=MOMENT,
            analyze=fake_engine(100),
        )
        return [a.sha256 for a in result.artifacts if a.spec.kind == "cleaned_csv"]

    assert run() == run()


def test_engine_input_error_propagates_and_nothing_is_written(tmp_path: Path) -> None:
    def broken(path: Path, *, display_name=None, progress=None):  # type: ignore[no-untyped-def]
        raise InputError(f"{path.name}: the file is empty")

    sink = StagedSinkDouble()
    with pytest.raises(InputError, match="empty"):
        _run(
            tmp_path,
            "an-5",
            name="empty.csv",
            inline=False,
            sink=sink,
            analyze=broken,
        )
    assert sink.files == {}
    assert list(tmp_path.iterdir()) == []


def test_scratch_is_removed_when_a_generator_fails(tmp_path: Path) -> None:
    class FailingSink(StagedSinkDouble):
        def write_artifact(self, spec, write):  # type: ignore[no-untyped-def]
            if spec.kind == "report_json":
                raise OSError("disk full")
            return super().write_artifact(spec, write)

    with pytest.raises(OSError, match="disk full"):
        _run(
            tmp_path,
            "an-6",
            inline=False,
            sink=FailingSink(),
            analyze=fake_engine(50),
        )
    assert list(tmp_path.iterdir()) == []


# --- the JSON report streamed on its own thread --------------------------------------------------


def _staging_sink(directory: Path) -> StagingSink:
    directory.mkdir()
    settings = dataclasses.replace(Settings(), staging_dir=directory, app_env="qa")
    return StagingSink(settings, "an-7", MOMENT)


def test_staged_run_streams_the_json_report_with_every_row_issue(tmp_path: Path) -> None:
    rows = ROW_ISSUES_SHEET_MAX_ROWS + 1_200  # the workbook shows the first 5,000
    sink = _staging_sink(tmp_path / "staging")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = _run(
        tmp_path,
        "an-7",
        inline=False,
        sink=sink,
        scratch_dir=scratch,
        timestamp=MOMENT,
        analyze=fake_engine(rows, chunk_rows=700),
    )
    staged = {a.spec.kind: tmp_path / "staging" / str(a.staged_path) for a in result.artifacts}
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == sorted(
        p.name for p in staged.values()
    )
    document = json.loads(staged["report_json"].read_bytes())
    issues = document["report"]["rowLevelIssues"]
    assert [i["row"] for i in issues] == list(range(2, rows + 2))
    assert document["report"]["rowLevelIssuesTotal"] == rows
    assert document["report"]["rowLevelIssuesTruncated"] is False
    # the JSON lists the CSV and the workbook as staged; otherwise it is the final object
    final = result.final_object
    assert document["report"]["downloads"] == final["report"]["downloads"][:2]
    for key in ("analysis_id", "tool", "status", "timestamp"):
        assert document[key] == final[key]
    for key in ("issues", "analysisSummary", "issueSummary", "executiveSummary"):
        assert document["report"][key] == final["report"][key]
    # the workbook still shows the first 5,000 row issues and counts them all
    sheet = load_workbook(staged["report_xlsx"], read_only=True)["Row issues"]
    values = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in values[1 : ROW_ISSUES_SHEET_MAX_ROWS + 1]] == list(
        range(2, ROW_ISSUES_SHEET_MAX_ROWS + 2)
    )
    assert f"of {rows:,} row-level issues" in str(values[ROW_ISSUES_SHEET_MAX_ROWS + 1][0])
    assert list(scratch.iterdir()) == []


@pytest.mark.timeout(60)
def test_an_engine_error_mid_run_stops_the_json_writer_and_stages_nothing(tmp_path: Path) -> None:
    class BreaksMidway(FakeAnalysis):
        def iter_cleaned(self, progress=None):  # type: ignore[no-untyped-def]
            for number, chunk in enumerate(super().iter_cleaned(progress)):
                if number == 3:
                    raise InputError("in.csv: line 1234 is not valid UTF-8")
                yield chunk

    def analyze(path: Path, *, display_name=None, progress=None):  # type: ignore[no-untyped-def]
        return BreaksMidway(5_000, 500, path.name)

    sink = _staging_sink(tmp_path / "staging")
    with pytest.raises(InputError, match="not valid UTF-8"):
        _run(
            tmp_path,
            "an-7",
            inline=False,
            sink=sink,
            analyze=analyze,
        )
    assert not any(t.name.startswith("json-report-") for t in threading.enumerate())
    assert list((tmp_path / "staging").iterdir()) == []
    assert sink.staged == []
    assert list(tmp_path.iterdir()) == [tmp_path / "staging"]  # scratch removed


@pytest.mark.timeout(60)
def test_a_json_writer_error_is_raised_by_the_run_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(batch: object) -> memoryview:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(json_downloads, "_serialise_batch", no_space)
    sink = _staging_sink(tmp_path / "staging")
    with pytest.raises(StagingError, match="no space left on the staging volume"):
        _run(
            tmp_path,
            "an-7",
            inline=False,
            sink=sink,
            analyze=fake_engine(3_000, chunk_rows=300),
        )
    assert not any(t.name.startswith("json-report-") for t in threading.enumerate())
    # nothing half-written; what was completed is the caller's to discard (as the CLI does)
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "staging").iterdir())
    sink.discard()
    assert list((tmp_path / "staging").iterdir()) == []


def test_inline_limit_crossed_by_the_json_writer_is_the_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InlineLimitError, match="INLINE_MAX_BYTES"):
        _run(
            tmp_path,
            "an-8",
            sink=BoundedMemorySink(200_000),  # the three artifacts need several times that
            analyze=fake_engine(3_000, chunk_rows=300),
        )
    assert list(tmp_path.iterdir()) == []
