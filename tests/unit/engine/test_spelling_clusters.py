"""Spelling clusters merge only case and space variants; values differing in accents are
suggested, never merged; close spellings are suggested only for a rare value beside a much more
frequent one, and never across a sign, a digit or a word."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from domain.engine import analyze_input
from domain.engine.clusters import (
    find_clusters,
    suggest_accent_variants,
    suggest_close_spellings,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cleaning" / "near_values.csv"


def _clusters(counted: dict[str, int]) -> dict[str, tuple[str, ...]]:
    values = pl.DataFrame({"value": list(counted), "count": list(counted.values())})
    return {c.canonical: c.variants for c in find_clusters(values)}


def test_case_and_space_variants_are_merged() -> None:
    assert _clusters({"France": 5, "france": 2, "FRANCE": 1, "Fr  ance": 1}) == {
        "France": ("france", "FRANCE")  # most frequent first
    }
    assert _clusters({"São Paulo": 4, "SÃO  PAULO": 1, "são paulo": 1}) == {
        "São Paulo": ("SÃO  PAULO", "são paulo")
    }


def test_a_tie_goes_to_the_spelling_in_mixed_case_then_the_smallest() -> None:
    assert _clusters({"KÖLN": 1, "köln": 1, "Köln": 1}) == {"Köln": ("KÖLN", "köln")}
    assert _clusters({"new york": 2, "NEW YORK": 2}) == {"NEW YORK": ("new york",)}
    assert _clusters({"Berlin": 1, "BERLIN": 3}) == {"BERLIN": ("Berlin",)}  # counts first


@pytest.mark.parametrize(
    ("counted", "suggested"),
    [
        ({"Koln": 5, "Köln": 1}, ("Köln", "Koln")),  # the accented one would lose its accent
        ({"Köln": 5, "Koln": 1}, ("Koln", "Köln")),
        ({"Peña": 3, "Pena": 3}, ("Peña", "Pena")),  # two surnames (a tie: the smaller first)
        ({"año": 1, "ano": 9}, ("año", "ano")),  # two words
    ],
)
def test_values_differing_in_accents_are_suggested_never_merged(
    counted: dict[str, int], suggested: tuple[str, str]
) -> None:
    assert _clusters(counted) == {}
    ranked = sorted(counted.items(), key=lambda item: -item[1])
    assert suggest_accent_variants([*ranked, ("Berlin", 2)]) == [(*suggested, 1)]


def test_accent_suggestions_fold_case_and_spaces_and_list_each_value_once() -> None:
    counted = [("Zürich", 9), ("Zurich", 4), ("ZURICH ", 2), ("Bern", 7), ("Genève", 1)]
    assert suggest_accent_variants(counted) == [("Zurich", "Zürich", 1), ("ZURICH ", "Zürich", 2)]


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
        # "Cote d'Ivoire" is as frequent as "Côte d'Ivoire": suggested, not merged
        "country": {"Côte  d'Ivoire": "Côte d'Ivoire", "FRANCE": "France", "france": "France"},
    }
    suggested = [
        r.details["values"]
        for r in analysis.profile.recommendations
        if r.code == "review_similar_spellings"
    ]
    assert suggested == [["Côte d'Ivoire", "Cote d'Ivoire"], ["Stokholm", "Stockholm"]]
