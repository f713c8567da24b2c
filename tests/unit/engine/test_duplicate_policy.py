"""Exact duplicate rows: always reported with their rows; dropped by default only where a key
column repeats with them; the choice is an option."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.engine import EngineOptions, analyze_input
from tests.support.trail_check import find_unexplained_changes, run_cleaning

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cleaning"


def _duplicates(path: Path, choice: str) -> tuple[int, str, tuple[int, ...], bool, int]:
    analysis = analyze_input(path, options=EngineOptions(duplicates=choice))
    rows = sum(chunk.batch.num_rows for chunk in analysis.iter_cleaned())
    finding = next(f for f in analysis.profile.findings if f.code == "duplicate_rows")
    routing = {r.action: r for r in analysis.profile.routing}["drop_duplicate_rows"]
    return finding.count, finding.message, finding.sample_rows, routing.applied, rows


def test_line_items_without_a_key_keep_their_repeated_rows_by_default() -> None:
    count, message, sample, applied, rows = _duplicates(FIXTURES / "pizza_line_items.csv", "auto")
    assert (count, sample, applied, rows) == (2, (3, 7), False, 7)
    assert "kept" in message
    assert "--duplicates drop" in message
    profile = analyze_input(FIXTURES / "pizza_line_items.csv").profile
    assert any(r.code == "drop_duplicate_rows" for r in profile.recommendations)


def test_rows_repeating_with_their_key_are_dropped_by_default() -> None:
    count, message, sample, applied, rows = _duplicates(FIXTURES / "keyed_duplicates.csv", "auto")
    assert (count, sample, applied, rows) == (2, (4, 7), True, 5)
    assert "'order_detail_id'" in message


@pytest.mark.parametrize(("choice", "applied", "rows"), [("drop", True, 5), ("keep", False, 7)])
def test_the_choice_overrides_the_evidence(choice: str, applied: bool, rows: int) -> None:
    count, _, sample, was_applied, kept = _duplicates(FIXTURES / "pizza_line_items.csv", choice)
    assert (count, sample, was_applied, kept) == (2, (3, 7), applied, rows)


def test_kept_duplicates_are_flagged_in_the_trail_not_dropped() -> None:
    run = run_cleaning(FIXTURES / "pizza_line_items.csv")
    flagged = [(i["row"], i["action"]) for i in run.issues if i["code"] == "duplicate_row"]
    assert flagged == [(3, "flagged"), (7, "flagged")]
    assert len(run.output_rows) == 7


@pytest.mark.parametrize("choice", ["auto", "keep", "drop"])
def test_a_kept_duplicate_differing_only_in_spaces_has_its_trim_in_the_trail(
    tmp_path: Path, choice: str
) -> None:
    path = tmp_path / "spaced.csv"
    path.write_text("code,city,note\nA,Oslo,\nA, Oslo ,n/a\nB,Bergen,y\n", encoding="utf-8")
    assert find_unexplained_changes(path, EngineOptions(duplicates=choice)) == []
