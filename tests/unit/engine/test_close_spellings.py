"""Close spellings (recommendations only): rapidfuzz's distance matrix gives what a plain
Levenshtein dynamic programme gives, pair for pair and in the same order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.engine.clusters import find_close_spellings


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def reference(values: list[str], limit: int) -> list[tuple[str, str, int]]:
    candidates = [v for v in values if len(v) >= 4]
    pairs = []
    for index, first in enumerate(candidates):
        for second in candidates[index + 1 :]:
            distance = levenshtein(first.lower(), second.lower())
            if 0 < distance <= limit and distance < min(len(first), len(second)) // 2:
                pairs.append((first, second, distance))
    return pairs


def test_known_pairs() -> None:
    values = ["Stockholm", "Stokholm", "Gothenburg", "Goteborg", "STOCKHOLM", "Malmo", "Malmö"]
    assert find_close_spellings(values, 2) == [
        ("Stockholm", "Stokholm", 1),
        ("Stokholm", "STOCKHOLM", 1),
        ("Malmo", "Malmö", 1),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="abcAB é-", min_size=0, max_size=9), unique=True, max_size=25),
    st.integers(min_value=1, max_value=3),
)
def test_matches_a_plain_levenshtein(values: list[str], limit: int) -> None:
    assert find_close_spellings(values, limit) == reference(values, limit)
