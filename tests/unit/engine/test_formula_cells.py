"""Formula-like cells: kept exact and reported by default, neutralised (and traced) on request."""

from __future__ import annotations

from pathlib import Path

from domain.engine import EngineOptions
from tests.hostile.cases import FILES
from tests.support.trail_check import run_cleaning

SOURCE = FILES / "formula_injection.csv"


def _cells(path: Path, options: EngineOptions) -> tuple[list[str], list[dict[str, object]]]:
    run = run_cleaning(path, options)
    column = run.output_header.index("cell")
    issues = [i for i in run.issues if i["code"] == "formula_injection_risk"]
    return [row[column] for row in run.output_rows], issues


def test_formula_like_cells_stay_exact_and_are_reported_by_default() -> None:
    values, issues = _cells(SOURCE, EngineOptions())
    assert values == [
        "=cmd|' /C calc'!A0",
        "+SUM(A1:A2)",
        "-2+3",
        "@SUM(1)",
        '=HYPERLINK("http://x")',
        "-5",
    ]
    assert [i["row"] for i in issues] == [2, 3, 4, 5, 6]
    assert {i["action"] for i in issues} == {"flagged"}
    assert all(i["old_value"] == i["new_value"] for i in issues)


def test_neutralising_is_an_option_whose_every_change_is_in_the_trail() -> None:
    values, issues = _cells(SOURCE, EngineOptions(formula_cells="neutralise"))
    assert values == [
        "'=cmd|' /C calc'!A0",
        "'+SUM(A1:A2)",
        "'-2+3",
        "'@SUM(1)",
        '\'=HYPERLINK("http://x")',
        "-5",  # a plain number stays as it is
    ]
    assert [(i["old_value"], i["new_value"], i["action"]) for i in issues[:1]] == [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0", "neutralised")
    ]
    assert len(issues) == 5
    assert {i["action"] for i in issues} == {"neutralised"}
