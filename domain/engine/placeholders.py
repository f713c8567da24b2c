"""Which placeholder spellings mean "missing" in a column, judged from its other values.

A spelling from the null list (``NA``, ``none``, ``missing``, ``-`` ...) is read as missing:

* in numeric, date, boolean and code columns, and in columns with no other value (a word among
  numbers or dates is a placeholder);
* when it is not a word (``n/a``, ``#N/A``, ``-``, ``?``, ``\\N``) or is a programming null
  (``null``, ``nan``);
* when its shape (character classes with runs collapsed, and short or long: ``NA`` ->
  ``a:short``, ``Missing`` -> ``a:long``, ``The Matrix`` -> ``a a:long``) stands apart from
  the column's values: fewer than ``VOCABULARY_SHARE`` of them share it. Letter case, accents
  and repeated spaces do not count, as merging such variants must not change the verdict
  (cleaning cleaned data again changes nothing).

Otherwise it fits the column (``Na`` among element symbols, ``NA`` among country codes, a film
titled ``Missing``): it is kept as a value and reported, never changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from domain.engine.profiling import ColumnStats
from domain.model import Finding, Severity

VOCABULARY_SHARE: Final = 0.05
PROGRAMMING_NULLS: Final = frozenset({"null", "NULL", "Null", "nan", "NaN", "NAN"})
VALUE_TYPES: Final = frozenset({"text"})  # only here can a placeholder spelling be a value
_WORD: Final = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class PlaceholderVerdict:
    missing: Mapping[str, int]  # spellings read as missing, with their cells
    kept: Mapping[str, int]  # spellings kept as values, with their cells


SHORT: Final = 3  # values of at most this many characters are "short" (codes, symbols)


def shape(value: str) -> str:
    """Letters as a, digits as 9, other characters as they are, runs of one class collapsed,
    then ``:short`` or ``:long``."""
    out: list[str] = []
    folded = " ".join(value.split())
    for char in folded:
        if char.isalpha():
            kind = "a"
        elif char.isdigit():
            kind = "9"
        else:
            kind = char
        if not out or out[-1] != kind:
            out.append(kind)
    size = "short" if len(folded) <= SHORT else "long"
    return "".join(out) + ":" + size


def _fits(token: str, vocabulary: Sequence[tuple[str, int]]) -> bool:
    total = sum(count for _, count in vocabulary)
    if total == 0:
        return False
    mark = shape(token)
    alike = sum(count for value, count in vocabulary if shape(value) == mark)
    return alike >= VOCABULARY_SHARE * total


def judge_placeholders(
    tokens: Mapping[str, int], inferred_type: str, vocabulary: Sequence[tuple[str, int]]
) -> PlaceholderVerdict:
    """Split the placeholder spellings seen in a column (``tokens``, trimmed, with their
    cells) into those read as missing and those kept as values. ``vocabulary``: the column's
    most frequent other values with their counts."""
    missing: dict[str, int] = {}
    kept: dict[str, int] = {}
    for token, count in tokens.items():
        if not token:
            continue  # blank cells are always missing
        is_value = (
            inferred_type in VALUE_TYPES
            and _WORD.fullmatch(token) is not None
            and token not in PROGRAMMING_NULLS
            and _fits(token, vocabulary)
        )
        (kept if is_value else missing)[token] = count
    return PlaceholderVerdict(missing=missing, kept=kept)


def count_kept_as_values(stats: ColumnStats, kept: Mapping[str, int]) -> None:
    """Pass 1 counted every placeholder spelling as missing: move the ``kept`` ones back to the
    column's values (missing count, distinct values)."""
    if not kept:
        return
    stats.sentinel -= sum(kept.values())
    if stats.values is not None:
        extra = pl.DataFrame(
            {"value": list(kept), "count": list(kept.values())}, schema=stats.values.schema
        )
        stats.values = pl.concat([stats.values, extra])


def describe_kept_placeholders(column: str, kept: Mapping[str, int]) -> Finding:
    cells = sum(kept.values())
    spelled = ", ".join(f"'{token}' ({count})" for token, count in sorted(kept.items()))
    return Finding(
        "possible_placeholder",
        Severity.INFO,
        f"{spelled} in '{column}' could mean missing but look like the column's other "
        "values; kept as values.",
        column,
        cells,
        (),
        {"values": dict(sorted(kept.items()))},
    )
