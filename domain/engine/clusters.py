"""Inconsistent spellings of one category.

Fingerprint clustering (as OpenRefine's key collision): lower-case, drop punctuation, split on
whitespace, de-duplicate and sort the tokens. Values sharing a fingerprint are merged into the
most frequent spelling (ties: the smallest string). Close spellings with different fingerprints
(edit distance <= edit_distance_max among the most frequent values) are only recommended.
Works on the distinct values of a column with their counts, never on cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Cluster:
    canonical: str
    variants: tuple[str, ...]  # the other spellings, merged into canonical
    cells: int  # cells holding a variant
    case_only: bool  # the spellings differ only by letter case


def fingerprint_expr(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.to_lowercase()
        .str.replace_all(r"[^\w\s]", "")
        .str.replace_all(r"\s+", " ")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique()
        .list.sort()
        .list.join(" ")
    )


def find_clusters(values: pl.DataFrame) -> list[Cluster]:
    """``values`` has columns ``value`` (str) and ``count`` (int)."""
    if values.height < 2:
        return []
    keyed = values.with_columns(fingerprint_expr("value").alias("key")).filter(pl.col("key") != "")
    ranked = keyed.sort(["key", "count", "value"], descending=[False, True, False])
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


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, stopping early once it exceeds ``limit`` (returns limit + 1)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        best = i
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            current.append(value)
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def find_close_spellings(values: list[str], limit: int) -> list[tuple[str, str, int]]:
    """Pairs of distinct values (most frequent first) within ``limit`` edits of each other.
    Short values (under 4 characters) are skipped: there every word is close to another."""
    pairs: list[tuple[str, str, int]] = []
    candidates = [v for v in values if len(v) >= 4]
    for index, first in enumerate(candidates):
        for second in candidates[index + 1 :]:
            distance = edit_distance(first.lower(), second.lower(), limit)
            if 0 < distance <= limit and distance < min(len(first), len(second)) // 2:
                pairs.append((first, second, distance))
    return pairs
