"""Hostile inputs: each ends with a one-line InputError or a full report, never anything else
(pytest-timeout catches a hang)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from domain.engine import analyze_input
from domain.errors import InputError
from domain.model import ROW_ISSUE_SCHEMA
from tests.hostile.cases import CASES, FILES, HostileCase


def _run(path: Path) -> tuple[str, str]:
    try:
        analysis = analyze_input(path)
        header = analysis.profile.cleaned_header
        schema = pa.schema([pa.field(name, pa.string()) for name in header])
        rows = 0
        for chunk in analysis.iter_cleaned():
            assert chunk.batch.schema == schema
            assert chunk.issues.schema == ROW_ISSUE_SCHEMA
            rows += chunk.batch.num_rows
        assert rows == analysis.profile.shape.rows_out
    except InputError as exc:
        return "error", str(exc)
    return "report", ""


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    committed = {c.name for c in CASES if c.build is None}
    assert committed == {p.name for p in FILES.iterdir()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(
    case: HostileCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, message = _run(case.materialize(tmp_path))
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err + printed.out  # nothing printed behind our back
    if case.expect != "either":
        assert outcome == case.expect, message
    if outcome == "error":
        assert message
        assert "\n" not in message
        assert "Traceback" not in message
        assert case.message.lower() in message.lower()


def test_directory_and_missing_file_are_errors(tmp_path: Path) -> None:
    assert _run(tmp_path) == ("error", f"{tmp_path.name}: is a directory, not a file")
    outcome, message = _run(tmp_path / "missing.csv")
    assert outcome == "error"
    assert "no such file" in message


def test_formula_cells_are_flagged_row_by_row() -> None:
    analysis = analyze_input(FILES / "formula_injection.csv")
    issues = pa.concat_tables([c.issues for c in analysis.iter_cleaned()]).to_pylist()
    flagged = sorted(r["row"] for r in issues if r["code"] == "formula_injection_risk")
    assert flagged == [2, 3, 4, 5, 6]  # "-5" (row 7) is a number, not a formula
