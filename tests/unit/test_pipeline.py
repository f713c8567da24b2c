from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.artifacts import derive_download_id
from domain.errors import InputError
from domain.pipeline import PHASE_ANALYSING, PHASE_CLEANING, PHASE_REPORTING, run_analysis
from tests.unit.downloads.fakes import StagedSinkDouble, fake_engine

MOMENT = datetime(2026, 11, 29, 12, 34, 56, tzinfo=UTC)


def test_inline_run_returns_the_final_object_with_three_base64_downloads(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = run_analysis(
        tmp_path / "Sales Data.csv",
        analysis_id="an-1",
        upload_to_s3=False,
        sink=None,
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
    result = run_analysis(
        tmp_path / "in.csv",
        analysis_id="an-2",
        upload_to_s3=True,
        sink=sink,
        scratch_dir=tmp_path,
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
    run_analysis(
        tmp_path / "in.csv",
        analysis_id="an-3",
        upload_to_s3=False,
        sink=None,
        scratch_dir=tmp_path,
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
        result = run_analysis(
            tmp_path / "in.csv",
            analysis_id="an-4",
            upload_to_s3=False,
            sink=None,
            scratch_dir=tmp_path,
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
        run_analysis(
            tmp_path / "empty.csv",
            analysis_id="an-5",
            upload_to_s3=True,
            sink=sink,
            scratch_dir=tmp_path,
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
        run_analysis(
            tmp_path / "in.csv",
            analysis_id="an-6",
            upload_to_s3=True,
            sink=FailingSink(),
            scratch_dir=tmp_path,
            analyze=fake_engine(50),
        )
    assert list(tmp_path.iterdir()) == []
