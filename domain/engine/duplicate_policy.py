"""Whether exact duplicate rows are dropped, and how that is said.

Identical rows are not always a mistake: line items without a row key (an order with the same
product twice) repeat for real. Under the "auto" choice they are dropped only where a key
column proves them duplicates: a column that identifies rows (no missing value, every value
distinct among the other rows) repeats with them. Whatever the choice, they are reported with
their row numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from domain.engine.options import EngineOptions
from domain.engine.profiling import ColumnStats
from domain.engine.verdicts import ColumnVerdict

KEY_NAME: Final = re.compile(r"(?:^|[_\s])(?:id|key|uuid|guid|ref)$|^(?:id|key|uuid|guid)", re.I)
HOW_TO_DROP: Final = "--duplicates drop (setting DUPLICATES_POLICY=drop)"


def find_key_column(
    columns: Sequence[tuple[str, ColumnStats, ColumnVerdict]], options: EngineOptions
) -> str | None:
    """The first column that identifies the rows (profiled without the repeated rows): no
    missing value, all values distinct, and an id-like name (at least 2 values) or an integer
    or code column of at least ``id_min_rows`` values."""
    for name, stats, verdict in columns:
        non_null = stats.non_null
        if stats.missing or non_null < 2:
            continue
        if stats.distinct(options.kmv_size) < options.id_unique_share * non_null:
            continue
        if KEY_NAME.search(name) and verdict.inferred_type in ("integer", "code", "text"):
            return name
        if verdict.inferred_type in ("integer", "code") and non_null >= options.id_min_rows:
            return name
    return None


def drops_duplicates(options: EngineOptions, key: str | None) -> bool:
    if options.duplicates == "drop":
        return True
    if options.duplicates == "keep":
        return False
    return key is not None


def describe_duplicates(count: int, *, dropped: bool, key: str | None, choice: str) -> str:
    if dropped and key is not None and choice == "auto":
        return f"{count} exact duplicate row(s), key column '{key}' included; dropped."
    if dropped:
        return f"{count} exact duplicate row(s); dropped."
    if choice == "keep":
        return f"{count} exact duplicate row(s); kept (duplicates policy: keep)."
    return (
        f"{count} exact duplicate row(s); kept: no key column proves they are not real "
        f"repeats (such as the same item twice in an order). To drop them: {HOW_TO_DROP}."
    )


def duplicate_routing_reason(dropped: bool, key: str | None, choice: str) -> str:
    if dropped and key is not None and choice == "auto":
        return f"exact duplicates, key column '{key}' included; first kept"
    if dropped:
        return "exact duplicates after trimming and null unification; first kept"
    return f"exact duplicates reported, not dropped (duplicates policy: {choice})"
