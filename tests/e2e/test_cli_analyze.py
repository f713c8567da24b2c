"""The real ``clean-my-data analyze`` in a subprocess: inline, staged (SQLite + staging dir in a
temporary directory) and malformed input."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sales_dirty.csv"
CLI = Path(sys.executable).with_name("clean-my-data")
SEED_REPORT_KEYS = {
    "alerts",
    "issues",
    "recommendations",
    "executiveSummary",
    "analysisSummary",
    "rowLevelIssues",
    "issueSummary",
    "routing_decisions",
    "downloads",
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STAGING_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STAGING_DIR=str(staging),
        ARTIFACT_STORE_URL=f"file://{tmp_path / 'artifacts'}",
        LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def _analyze(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "analyze", *args],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr lines that are not structured log events."""
    return [line for line in result.stderr.splitlines() if not line.startswith("{")]


def _report_rows(tmp_path: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM analysis_reports")).scalar_one())
    finally:
        engine.dispose()


def test_inline_run_on_the_example_prints_the_final_object(tmp_path: Path) -> None:
    result = _analyze(tmp_path, str(EXAMPLE), "--inline", "--analysis-id", "example-1")
    assert result.returncode == 0, result.stderr
    final: dict[str, Any] = json.loads(result.stdout)

    assert final["analysis_id"] == "example-1"
    assert final["tool"] == "clean-my-data"
    assert final["status"] == "success"
    report = final["report"]
    assert set(report) >= SEED_REPORT_KEYS
    assert report["issues"], "the dirty example must produce findings"
    assert report["rowLevelIssuesTotal"] > 0
    assert "completeness" in report["executiveSummary"]
    shape = report["analysisSummary"]["shape"]
    assert shape["rows_out"] < shape["rows_in"]  # duplicates / blank rows dropped

    downloads = {d["format"]: d for d in report["downloads"]}
    assert set(downloads) == {"csv", "xlsx", "json"}
    contents = {fmt: base64.b64decode(d["content_base64"]) for fmt, d in downloads.items()}
    for fmt, data in contents.items():
        assert downloads[fmt]["size_bytes"] == len(data)
    rows = list(csv.reader(io.StringIO(contents["csv"].decode("utf-8"), newline="")))
    assert len(rows) - 1 == shape["rows_out"]
    assert rows[0] == report["analysisSummary"]["cleaned_header"]
    assert not any(cell.startswith("=") for row in rows for cell in row)
    workbook = load_workbook(io.BytesIO(contents["xlsx"]))
    assert workbook.sheetnames == [
        "Summary",
        "Issues",
        "Row issues",
        "Column profile",
        "Cleaned data",
    ]
    document = json.loads(contents["json"])
    assert len(document["report"]["rowLevelIssues"]) == report["rowLevelIssuesTotal"]
    assert not (tmp_path / "db.sqlite3").exists()  # nothing committed
    assert list((tmp_path / "staging").iterdir()) == []  # nothing staged


def test_inline_output_file_is_written_and_stdout_stays_empty(tmp_path: Path) -> None:
    out = tmp_path / "final.json"
    result = _analyze(tmp_path, str(EXAMPLE), "--inline", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    final = json.loads(out.read_text(encoding="utf-8"))
    assert len(final["report"]["downloads"]) == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".final.json")] == []


def test_staged_run_commits_and_stages_and_a_rerun_is_idempotent(tmp_path: Path) -> None:
    first = _analyze(tmp_path, str(EXAMPLE), "--analysis-id", "staged-1")
    assert first.returncode == 0, first.stderr
    entries = json.loads(first.stdout)["report"]["downloads"]
    assert [e["status"] for e in entries] == ["pending"] * 3
    assert all("content_base64" not in e for e in entries)
    staged = sorted((tmp_path / "staging").iterdir())
    assert len(staged) == 3
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in staged}
    assert digests == {e["sha256"] for e in entries}
    assert all(e["s3_path"].startswith("file://") for e in entries)

    again = _analyze(tmp_path, str(EXAMPLE), "--analysis-id", "staged-1")
    assert again.returncode == 0, again.stderr
    again_entries = json.loads(again.stdout)["report"]["downloads"]
    assert [e["download_id"] for e in again_entries] == [e["download_id"] for e in entries]
    assert _report_rows(tmp_path) == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", b""),
        ("binary.csv", bytes(range(256)) * 64),
        ("only_header_newlines.csv", b"\n\n\n"),
    ],
)
def test_malformed_input_gives_one_line_and_nothing_staged(
    tmp_path: Path, name: str, content: bytes
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    result = _analyze(tmp_path, str(bad), "--analysis-id", "bad-1")
    assert result.returncode == 65  # EX_DATAERR
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = _errors(result)
    assert len(errors) == 1
    assert errors[0].startswith("clean-my-data: error: ")
    assert list((tmp_path / "staging").iterdir()) == []
    assert _report_rows(tmp_path) == 0


def test_missing_file_and_bad_analysis_id_are_one_line_errors(tmp_path: Path) -> None:
    missing = _analyze(tmp_path, str(tmp_path / "nope.csv"), "--inline")
    assert missing.returncode == 65
    assert _errors(missing) == [f"clean-my-data: error: {tmp_path / 'nope.csv'}: no such file"]

    bad_id = _analyze(tmp_path, str(EXAMPLE), "--analysis-id", "../etc/passwd")
    assert bad_id.returncode == 2
    assert len(_errors(bad_id)) == 1
    assert "--analysis-id" in _errors(bad_id)[0]
    too_long = _analyze(tmp_path, str(EXAMPLE), "--analysis-id", "a" * 129)
    assert "at most 128" in _errors(too_long)[0]


def test_inline_refuses_inputs_over_the_inline_limit(tmp_path: Path) -> None:
    result = _analyze(tmp_path, str(EXAMPLE), "--inline", INLINE_MAX_BYTES="100")
    assert result.returncode == 65
    errors = _errors(result)
    assert len(errors) == 1
    assert "INLINE_MAX_BYTES" in errors[0]
    assert result.stdout == ""


def test_crash_after_staging_leaves_only_staged_files_and_no_rows(tmp_path: Path) -> None:
    crashed = _analyze(
        tmp_path, str(EXAMPLE), "--analysis-id", "crash-1", CLEAN_MY_DATA_CRASH_AT="after_staging"
    )
    assert crashed.returncode == 86  # outbox.crashpoints.CRASH_EXIT_CODE
    assert crashed.stdout == ""
    assert len(list((tmp_path / "staging").iterdir())) == 3
    assert _report_rows(tmp_path) == 0

    recovered = _analyze(tmp_path, str(EXAMPLE), "--analysis-id", "crash-1")
    assert recovered.returncode == 0, recovered.stderr
    assert _report_rows(tmp_path) == 1
    entries = json.loads(recovered.stdout)["report"]["downloads"]
    assert [e["status"] for e in entries] == ["pending"] * 3


def test_unwritable_output_is_refused_before_any_work(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "final.json"
    result = _analyze(tmp_path, str(EXAMPLE), "--output", str(target))
    assert result.returncode == 2
    assert _errors(result) == [
        f"clean-my-data: error: --output {target}: the directory {target.parent} does not exist"
    ]
    assert list((tmp_path / "staging").iterdir()) == []
    assert not (tmp_path / "db.sqlite3").exists()
