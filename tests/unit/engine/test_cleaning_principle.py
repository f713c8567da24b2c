"""Cleaning changes only what the trail shows: every fixture, cell by cell."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.dirty_data import write_dirty_csv
from domain.engine import EngineOptions
from tests.hostile.cases import CASES, FILES
from tests.support.trail_check import check_run, find_unexplained_changes, run_cleaning

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = sorted(
    [
        *(ROOT / "tests" / "fixtures").rglob("*.csv"),
        *(ROOT / "tests" / "fixtures").rglob("*.xlsx"),
        *(ROOT / "examples").glob("*.csv"),
        *(FILES / case.name for case in CASES if case.build is None and case.expect == "report"),
    ]
)
CHOICES = [
    EngineOptions(),
    EngineOptions(formula_cells="neutralise", duplicates="drop"),
    EngineOptions(duplicates="keep"),
]


def test_the_corpus_is_all_there() -> None:
    assert len(FIXTURES) >= 25
    assert all(path.is_file() for path in FIXTURES)


@pytest.mark.parametrize("options", CHOICES, ids=["default", "neutralise-drop", "keep"])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_change_is_in_the_trail(path: Path, options: EngineOptions) -> None:
    assert find_unexplained_changes(path, options) == []


def test_the_comparison_sees_a_change_missing_from_the_trail() -> None:
    run = run_cleaning(ROOT / "tests" / "fixtures" / "messy_orders.csv")
    assert check_run(run) == []
    tampered = [list(row) for row in run.output_rows]
    tampered[0][1] = tampered[0][1] + "!"
    problems = check_run(replace(run, output_rows=tampered))
    assert [(p.row, p.reason) for p in problems] == [(2, "changed cell not in the trail")]
    wrong_old = [dict(issue) for issue in run.issues]
    first_change = next(i for i in wrong_old if i["action"] == "trimmed")
    first_change["old_value"] = "something else"
    problems = check_run(replace(run, issues=wrong_old))
    assert len(problems) == 1
    assert "trail old value" in problems[0].reason
    fewer = run.output_rows[:-1]
    assert any("rows kept" in p.reason for p in check_run(replace(run, output_rows=fewer)))


def test_a_dropped_row_of_placeholders_keeps_its_values_in_the_trail() -> None:
    run = run_cleaning(FILES / "all_null_sentinels.csv")
    dropped = [(i["row"], i["old_value"]) for i in run.issues if i["code"] == "blank_row"]
    assert dropped == [(2, "NA,null"), (3, "-,?"), (4, "N/A,\\N")]
    assert run.output_rows == []


@pytest.mark.parametrize("options", CHOICES, ids=["default", "neutralise-drop", "keep"])
def test_every_change_is_in_the_trail_on_generated_dirty_data(
    tmp_path: Path, options: EngineOptions
) -> None:
    """The benchmark's dirty data (formatted numbers, placeholders, spelling variants,
    duplicates, blank rows, formulas), read in many small chunks."""
    path = tmp_path / "dirty.csv"
    write_dirty_csv(path, 400_000, seed=3)
    chunked = replace(options, block_size=64 << 10)
    assert find_unexplained_changes(path, chunked) == []
