"""Inconsistent spellings of one category.

Only variants that cannot mean different things are merged: values whose fingerprint (letter
case folded, runs of spaces made one, surrounding spaces dropped) is the same go into the most
frequent spelling (ties: a spelling in mixed case, then the smallest string). Values differing
in a sign, a digit, punctuation, a word or an accent never share a fingerprint (``B+``/``B-``,
``fr,en``/``fr,es``, ``1h 40m``/``1h 30m``, ``Peña``/``Pena``, ``año``/``ano``).

Values that differ only in accents (:func:`suggest_accent_variants`) and close spellings
(:func:`suggest_close_spellings`) are only suggested, never applied; close spellings only where
a rare value sits beside a much more frequent one that differs from it by a typo in one word,
never in code-like, list-like, numeric-like or duration-like columns. Works on the distinct
values of a column with their counts, never on cells.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein


@dataclass(frozen=True)
class Cluster:
    canonical: str
    variants: tuple[str, ...]  # the other spellings, merged into canonical
    cells: int  # cells holding a variant
    case_only: bool  # the spellings differ only by letter case


def fingerprint_expr(column: str) -> pl.Expr:
    """Case folded, whitespace runs made one space, trimmed."""
    return pl.col(column).str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


def _without_accents(value: pl.Expr) -> pl.Expr:
    return value.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")


def find_clusters(values: pl.DataFrame) -> list[Cluster]:
    """``values`` has columns ``value`` (str) and ``count`` (int). Each cluster goes into its
    most frequent spelling; among equally frequent ones, into one in mixed case (``Köln`` over
    ``KÖLN`` and ``köln``: upper- or lower-casing loses what the capitals tell), then the
    smallest string."""
    if values.height < 2:
        return []
    value = pl.col("value")
    mixed = (value != value.str.to_lowercase()) & (value != value.str.to_uppercase())
    keyed = values.with_columns(
        fingerprint_expr("value").alias("key"), mixed.alias("mixed")
    ).filter(pl.col("key") != "")
    ranked = keyed.sort(["key", "count", "mixed", "value"], descending=[False, True, True, False])
    groups = (
        ranked.group_by("key", maintain_order=True)
        .agg(pl.col("value"), pl.col("count"), pl.len().alias("size"))
        .filter(pl.col("size") > 1)
    )
    clusters: list[Cluster] = []
    for row in groups.iter_rows(named=True):  # one per cluster, not per cell
        members: list[str] = row["value"]
        counts: list[int] = row["count"]
        canonical = members[0]
        clusters.append(
            Cluster(
                canonical=canonical,
                variants=tuple(members[1:]),
                cells=int(sum(counts[1:])),
                case_only=len({m.lower() for m in members}) == 1,
            )
        )
    return clusters


def suggest_accent_variants(counted: Sequence[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """(rarer value, most frequent value, edits) for values whose fingerprints differ only in
    accents (``Koln``/``Köln``): such values may be different words (``ano``/``año``), so they
    are suggested, never merged. ``counted``: distinct values with their counts."""
    if len(counted) < 2:
        return []
    frame = pl.DataFrame(
        {"value": [v for v, _ in counted], "count": [c for _, c in counted]},
        schema={"value": pl.String, "count": pl.Int64},
    )
    keyed = frame.with_columns(_without_accents(fingerprint_expr("value")).alias("key")).filter(
        pl.col("key") != ""
    )
    groups = (
        keyed.sort(["key", "count", "value"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(pl.col("value"))
        .filter(pl.col("value").list.len() > 1)
    )
    pairs: list[tuple[str, str, int]] = []
    for members in groups.get_column("value").to_list():
        frequent = members[0]
        for rare in members[1:]:
            pairs.append((rare, frequent, Levenshtein.distance(rare.lower(), frequent.lower())))
    return pairs


def find_close_spellings(values: list[str], limit: int) -> list[tuple[str, str, int]]:
    """Pairs of distinct values (most frequent first) within ``limit`` edits (Levenshtein,
    case-insensitive) of each other, in the order of ``values``. Short values (under 4
    characters) are skipped: there every word is close to another. The distance matrix comes
    from rapidfuzz (C++; a pure-Python loop took 0.3 s per column of 200 values)."""
    candidates = [v for v in values if len(v) >= 4]
    if len(candidates) < 2:
        return []
    lowered = [v.lower() for v in candidates]
    distances = process.cdist(
        lowered, lowered, scorer=Levenshtein.distance, score_cutoff=limit, dtype=np.int32
    )
    first, second = np.nonzero(np.triu(distances <= limit, k=1))  # row-major: pair order kept
    pairs: list[tuple[str, str, int]] = []
    for i, j in zip(first.tolist(), second.tolist(), strict=True):
        distance = int(distances[i, j])
        a, b = candidates[i], candidates[j]
        if 0 < distance < min(len(a), len(b)) // 2:
            pairs.append((a, b, distance))
    return pairs


_DIGIT = re.compile(r"\d")
_LIST_SEPARATOR = re.compile(r"[,;|/]")
_NOT_WORD = re.compile(r"[^\w\s]")
SHAPE_SHARE = 0.3  # share of a column's values that makes it numeric-, list- or code-like


def is_free_text_category(values: Sequence[str]) -> bool:
    """False for columns where a one-character difference is a different value: numeric-like
    or duration-like (digits), list-like (separators) and code-like (no lower-case letter, or
    at most 3 characters) values."""
    if not values:
        return False
    limit = SHAPE_SHARE * len(values)
    digits = sum(1 for v in values if _DIGIT.search(v))
    lists = sum(1 for v in values if _LIST_SEPARATOR.search(v))
    codes = sum(1 for v in values if len(v) <= 3 or v == v.upper())
    return digits < limit and lists < limit and codes < limit


def _one_word_typo(rare: str, frequent: str, distance: int) -> bool:
    """The two differ in one word only, by a typo: same first letter, no digit, the same
    punctuation, at most one edit in a word under 9 letters (two in longer words)."""
    if _DIGIT.search(rare) or _DIGIT.search(frequent):
        return False
    if sorted(_NOT_WORD.findall(rare)) != sorted(_NOT_WORD.findall(frequent)):
        return False
    words_a, words_b = rare.casefold().split(), frequent.casefold().split()
    if len(words_a) != len(words_b):
        return False
    differing = [(a, b) for a, b in zip(words_a, words_b, strict=True) if a != b]
    if len(differing) != 1:
        return False
    a, b = differing[0]
    if a[:1] != b[:1]:
        return False
    return distance <= (1 if min(len(a), len(b)) < 9 else 2)


def suggest_close_spellings(
    counted: Sequence[tuple[str, int]], limit: int, ratio: float
) -> list[tuple[str, str, int]]:
    """(rare value, frequent value, distance) for values at most ``limit`` edits from a value
    at least ``ratio`` times as frequent, differing from it by a typo in one word; nothing in
    columns that are not free-text categories (``counted``: the column's most frequent values
    with their counts)."""
    values = [v for v, _ in counted]
    if not is_free_text_category(values):
        return []
    counts = dict(counted)
    suggestions: list[tuple[str, str, int]] = []
    for first, second, distance in find_close_spellings(values, limit):
        rare, frequent = (first, second) if counts[first] < counts[second] else (second, first)
        if counts[rare] * ratio > counts[frequent]:
            continue
        if _one_word_typo(rare, frequent, distance):
            suggestions.append((rare, frequent, distance))
    return suggestions
