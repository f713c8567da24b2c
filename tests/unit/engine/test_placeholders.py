"""Placeholder spellings are read as missing where the column's values make that likely, and
kept as values (reported) where they fit the column."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from domain.engine.placeholders import judge_placeholders, shape
from tests.support.trail_check import run_cleaning

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cleaning" / "placeholders.csv"
SYMBOLS = [("He", 1), ("Li", 1), ("Be", 1), ("Mg", 1), ("C", 1), ("Cl", 1)]
COUNTRIES = [("US", 5), ("FR", 4), ("DE", 3), ("ZA", 2)]
TITLES = [("Heat", 2), ("Alien", 2), ("The Matrix", 1), ("Jaws", 1), ("Vertigo", 1)]
SENTENCES = [("Delivered on time", 3), ("Left at the door", 2), ("Called twice", 2)]


def test_shapes() -> None:
    values = ("NA", "Na", "n/a", "Missing", "The  Matrix", "X-12", "Ösló")
    assert [shape(v) for v in values] == [
        "a:short",
        "a:short",
        "a/a:short",
        "a:long",
        "a a:long",
        "a-9:long",
        "a:long",
    ]


@pytest.mark.parametrize(
    ("token", "vocabulary"),
    [("Na", SYMBOLS), ("NA", COUNTRIES), ("Missing", TITLES), ("None", TITLES)],
)
def test_a_token_that_fits_the_column_is_kept(
    token: str, vocabulary: list[tuple[str, int]]
) -> None:
    verdict = judge_placeholders({token: 2}, "text", vocabulary)
    assert (dict(verdict.kept), dict(verdict.missing)) == ({token: 2}, {})


@pytest.mark.parametrize(
    ("token", "kind", "vocabulary"),
    [
        ("NA", "text", SENTENCES),  # stands apart from the sentences
        ("n/a", "text", COUNTRIES),  # not a word
        ("NULL", "text", COUNTRIES),  # a programming null
        ("NA", "integer", [("12", 4)]),  # a word among numbers
        ("Missing", "date", [("2024-01-02", 4)]),
        ("NA", "code", [("007", 4)]),
        ("NA", "empty", []),
        ("NA", "text", []),  # nothing else to compare with
    ],
)
def test_a_token_read_as_missing(token: str, kind: str, vocabulary: list[tuple[str, int]]) -> None:
    verdict = judge_placeholders({token: 2, "": 5}, kind, vocabulary)
    assert (dict(verdict.kept), dict(verdict.missing)) == ({}, {token: 2})


def test_the_fixture_keeps_real_values_and_empties_placeholders() -> None:
    run = run_cleaning(FIXTURE)
    header = run.output_header
    column = {name: [row[header.index(name)] for row in run.output_rows] for name in header}
    assert "Na" in column["element"]
    assert column["country_code"].count("NA") == 3
    assert column["film"].count("Missing") == 3
    assert column["amount"].count("") == 9  # NA, -, n/a among numbers
    assert column["comment"].count("") == 9  # N/A, NA, null among sentences
    emptied = Counter(
        (i["column"], i["old_value"]) for i in run.issues if i["code"] == "null_sentinel"
    )
    assert set(emptied) == {
        ("amount", "NA"),
        ("amount", "-"),
        ("amount", "n/a"),
        ("comment", "N/A"),
        ("comment", "NA"),
        ("comment", "null"),
    }
    reported = {
        f.column: dict(f.details["values"])
        for f in run.analysis.profile.findings
        if f.code == "possible_placeholder"
    }
    assert reported == {"element": {"Na": 1}, "country_code": {"NA": 3}, "film": {"Missing": 3}}
