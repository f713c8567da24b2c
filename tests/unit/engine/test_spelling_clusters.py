"""Spelling clusters merge only case, space and accent variants; close spellings are suggested
only for a rare value beside a much more frequent one, and never across a sign, a digit or a
word."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from domain.engine import analyze_input
from domain.engine.clusters import find_clusters, suggest_close_spellings

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cleaning" / "near_values.csv"


def _clusters(counted: dict[str, int]) -> dict[str, tuple[str, ...]]:
    values = pl.DataFrame({"value": list(counted), "count": list(counted.values())})
    return {c.canonical: c.variants for c in find_clusters(values)}


def test_case_space_and_accent_variants_are_merged() -> None:
    assert _clusters({"France": 5, "france": 2, "FRANCE": 1, "Fr  ance": 1}) == {
        "France": ("france", "FRANCE")  # most frequent first
    }
    assert _clusters({"São Paulo": 4, "Sao  Paulo": 1, "são paulo": 1}) == {
        "São Paulo": ("Sao  Paulo", "são paulo")
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("B+", "B-"),
        ("A-", "A+"),
        ("fr,en", "fr,es"),
        ("fr,en", "en,fr"),
        ("1h 40m", "1h 30m"),
        ("X-12", "X-13"),
        ("New York", "York New"),
        ("ethyl", "methyl"),
    ],
)
def test_values_differing_in_a_sign_digit_or_word_are_never_merged(first: str, second: str) -> None:
    assert _clusters({first: 10, second: 1}) == {}


@pytest.mark.parametrize(
    ("rare", "frequent"),
    [
        ("South Carolina", "North Carolina"),
        ("Columbia", "Columbus"),
        ("ethyl", "methyl"),
        ("fr,es", "fr,en"),
        ("1h 30m", "1h 40m"),
        ("Route 66", "Route 67"),
    ],
)
def test_real_neighbours_are_not_suggested(rare: str, frequent: str) -> None:
    counted = [(frequent, 100), (rare, 2), ("Something else", 50), ("Another value", 40)]
    assert suggest_close_spellings(counted, 2, 10.0) == []


def test_a_rare_typo_beside_a_frequent_value_is_suggested() -> None:
    counted = [("Stockholm", 100), ("Gothenburg", 60), ("Stokholm", 2), ("Gothenburgh", 30)]
    assert suggest_close_spellings(counted, 2, 10.0) == [("Stokholm", "Stockholm", 1)]


def test_code_like_and_list_like_columns_get_no_suggestion() -> None:
    codes = [("ABCD", 100), ("ABCE", 1), ("WXYZ", 50)]
    assert suggest_close_spellings(codes, 2, 10.0) == []
    lists = [("red;blue", 100), ("red;bleu", 1), ("green;blue", 50)]
    assert suggest_close_spellings(lists, 2, 10.0) == []


def test_the_fixture_merges_and_suggests_only_the_safe_cases() -> None:
    analysis = analyze_input(FIXTURE)
    merges = {c.name: dict(c.merge) for c in analysis.plan.columns if c.merge}
    assert merges == {
        "blood_group": {"b+": "B+"},
        "country": {
            "Côte d'Ivoire": "Cote d'Ivoire",
            "Côte  d'Ivoire": "Cote d'Ivoire",
            "FRANCE": "France",
            "france": "France",
        },
    }
    suggested = [
        r.details["values"]
        for r in analysis.profile.recommendations
        if r.code == "review_similar_spellings"
    ]
    assert suggested == [["Stokholm", "Stockholm"]]
