"""The compact row-level trail of the JSON report: one entry per cleaning decision.

A decision is one (column, code, severity, action); whole-row issues (blank rows, duplicates)
have ``column`` null. Each entry says how many cells (or rows) it touched, which rows as
inclusive ranges (a number is one row, ``[first, last]`` a run of rows), and which distinct
changes (old -> new) with how many cells each::

    {"column": "stadt", "code": "leading_trailing_whitespace", "severity": "low",
     "action": "trimmed", "cells": 3,
     "rows": [[2, 3], 7], "rowsTruncated": false,
     "changes": [{"old": " Köln", "new": "Köln", "count": 2}, {"old": "Essen ",
                  "new": "Essen", "count": 1}],
     "changesUnlisted": 0}

Entries come in order of first appearance, ranges in row order as they arrived (adjacent
ranges across chunks are joined), changes in order of first appearance. A run of identical
row issues (10 million blank lines) is one range.

Bounded, whatever the input: ``changes`` lists at most :data:`MAX_CHANGES_PER_DECISION`
distinct pairs per decision and no value longer than :data:`MAX_CHANGE_VALUE_CHARS`
characters; cells whose change is not listed are counted in ``changesUnlisted`` (so the listed
counts plus ``changesUnlisted`` equal ``cells``). All entries together spend at most the
budget given (:func:`trail_budget`, from the input's size) on ranges and changes; once it is
spent, an entry lists no more ranges (``rowsTruncated: true``) or changes. The cell-level
Parquet trail always holds every row issue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import polars as pl
import pyarrow as pa

MAX_CHANGES_PER_DECISION: Final = 1_000
MAX_CHANGE_VALUE_CHARS: Final = 200
TRAIL_BUDGET_MIN_BYTES: Final = 1 << 20
TRAIL_BUDGET_MAX_BYTES: Final = 32 << 20
TRAIL_BUDGET_SHARE: Final = 0.25  # of the input's bytes

_KEYS: Final = ("column", "code", "severity", "action")
_CHANGE_OVERHEAD: Final = len('{"old":,"new":,"count":},') + 20  # the count's digits

DecisionKey = tuple[str | None, str, str, str]
Change = tuple[str | None, str | None]


def trail_budget(input_bytes: int) -> int:
    """Bytes the compact trail may spend on ranges and changes: a quarter of the input, at
    least 1 MiB, at most 32 MiB."""
    share = int(input_bytes * TRAIL_BUDGET_SHARE)
    return max(TRAIL_BUDGET_MIN_BYTES, min(TRAIL_BUDGET_MAX_BYTES, share))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@dataclass
class _Decision:
    key: DecisionKey
    cells: int = 0
    rows_text: list[bytes] = field(default_factory=list)  # written ranges, comma-separated
    last: tuple[int, int] | None = None  # the last range, not yet written (it may grow)
    rows_truncated: bool = False
    changes: dict[Change, int] = field(default_factory=dict)
    changes_unlisted: int = 0
    changes_full: bool = False  # no more changes listed: the others count as unlisted

    @property
    def last_end(self) -> int | None:
        return None if self.last is None else self.last[1]

    def add_ranges(
        self, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Append ranges (joining the first to the last one when adjacent). All but the last
        range are final: they are returned (firsts, lasts) for the caller to render and append
        to ``rows_text`` (as few bytes as they will take in the document)."""
        if not len(starts):
            return None
        if self.last is not None and starts[0] == self.last[1] + 1:
            self.last = (self.last[0], int(ends[0]))
            starts, ends = starts[1:], ends[1:]
            if not len(starts):
                return None
        held = np.array([] if self.last is None else [self.last[0]], dtype=np.int64)
        firsts = np.concatenate((held, starts[:-1]))
        held = np.array([] if self.last is None else [self.last[1]], dtype=np.int64)
        lasts = np.concatenate((held, ends[:-1]))
        self.last = (int(starts[-1]), int(ends[-1]))
        return (firsts, lasts) if len(firsts) else None

    def render(self) -> str:
        column, code, severity, action = self.key
        pieces = [piece.decode() for piece in self.rows_text]
        if self.last is not None:
            first, last = np.array([self.last[0]]), np.array([self.last[1]])
            pieces += _render_range_lists([(None, first, last)])
        rows = ",".join(pieces)
        changes = ",".join(
            f'{{"old":{_dumps(old)},"new":{_dumps(new)},"count":{count}}}'
            for (old, new), count in self.changes.items()
        )
        return (
            f'{{"column":{_dumps(column)},"code":{_dumps(code)},"severity":{_dumps(severity)},'
            f'"action":{_dumps(action)},"cells":{self.cells},"rows":[{rows}],'
            f'"rowsTruncated":{_dumps(self.rows_truncated)},"changes":[{changes}],'
            f'"changesUnlisted":{self.changes_unlisted}}}'
        )


def _render_range_lists(parts: list[tuple[Any, np.ndarray, np.ndarray]]) -> list[str]:
    """The ranges of each (_, firsts, lasts), in one query: ``first`` for a single row,
    ``[first,last]`` for a run; comma-separated."""
    if not parts:
        return []
    frame = pl.DataFrame(
        {
            "part": np.repeat(np.arange(len(parts)), [len(firsts) for _, firsts, _ in parts]),
            "first": np.concatenate([firsts for _, firsts, _ in parts]),
            "last": np.concatenate([lasts for _, _, lasts in parts]),
        },
        schema={"part": pl.Int64, "first": pl.Int64, "last": pl.Int64},
    )
    single = pl.col("first") == pl.col("last")
    text = (
        pl.when(single)
        .then(pl.col("first").cast(pl.String))
        .otherwise(pl.format("[{},{}]", "first", "last"))
    )
    rendered = frame.group_by("part", maintain_order=True).agg(text.str.join(","))
    return rendered.get_column("first").to_list()


def _key_frame(keys: list[DecisionKey]) -> pl.DataFrame:
    return pl.DataFrame(keys, schema=dict.fromkeys(_KEYS, pl.String), orient="row")


_POWERS_OF_TEN: Final = np.array([10**k for k in range(1, 19)], dtype=np.int64)


def _digits(values: np.ndarray) -> np.ndarray:
    """Decimal digits of each non-negative value."""
    return np.searchsorted(_POWERS_OF_TEN, values, side="right") + 1


def _range_costs(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Bytes each range takes as written: ``row,`` or ``[first,last],``."""
    single = _digits(starts) + 1
    run = _digits(starts) + _digits(ends) + 4
    return np.where(starts == ends, single, run).astype(np.int64)


def _listable(value: str | None) -> bool:
    return value is None or len(value) <= MAX_CHANGE_VALUE_CHARS


class CompactTrail:
    """Folds row issues (schema ``ROW_ISSUE_SCHEMA``), chunk by chunk, into the compact trail."""

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._decisions: dict[DecisionKey, _Decision] = {}
        self.total = 0

    @property
    def budget_left(self) -> int:
        return self._budget

    def add(self, issues: pa.Table | pa.RecordBatch) -> None:
        """Fold one chunk: two grouped queries (the rows of each decision; the count of each
        distinct change of each decision), then, decision by decision in order of first
        appearance, its ranges and its changes (the budget is spent in that order). The
        ranges of all decisions are rendered together at the end of the chunk."""
        if issues.num_rows == 0:
            return
        frame = pl.from_arrow(issues)
        assert isinstance(frame, pl.DataFrame)
        self.total += frame.height
        decisions = frame.group_by(list(_KEYS), maintain_order=True).agg(pl.col("row"))
        lengths = decisions["row"].list.len().to_numpy()
        rows = np.split(decisions["row"].explode().to_numpy(), np.cumsum(lengths)[:-1])
        keys = list(decisions.select(_KEYS).iter_rows())
        full = [key for key in keys if self._is_full(key)]
        changes = self._count_changes(frame, full)
        pending: list[tuple[_Decision, np.ndarray, np.ndarray]] = []
        for key, cells, decision_rows in zip(keys, lengths, rows, strict=True):
            decision = self._decision(key)
            decision.cells += int(cells)
            held = self._add_ranges(decision, decision_rows)
            if held is not None:
                pending.append((decision, *held))
            for old, new, count in changes.get(key, ()):
                self._count_change(decision, (old, new), count)
        for (decision, _, _), text in zip(pending, _render_range_lists(pending), strict=True):
            decision.rows_text.append(text.encode())

    def _is_full(self, key: DecisionKey) -> bool:
        decision = self._decisions.get(key)
        return decision is not None and decision.changes_full

    def _count_changes(
        self, frame: pl.DataFrame, full: list[DecisionKey]
    ) -> dict[DecisionKey, list[tuple[str | None, str | None, int]]]:
        """Count the changes of the decisions already ``full`` (listed ones by change, the
        rest as unlisted); return the distinct changes, with their counts in order of first
        appearance, of each other decision."""
        grouped = frame.group_by([*_KEYS, "old_value", "new_value"], maintain_order=True).len()
        if full:
            keys = _key_frame(full)
            self._count_listed(grouped.join(keys, on=list(_KEYS), how="semi", nulls_equal=True))
            grouped = grouped.join(keys, on=list(_KEYS), how="anti", nulls_equal=True)
        changes: dict[DecisionKey, list[tuple[str | None, str | None, int]]] = {}
        for column, code, severity, action, old, new, count in grouped.iter_rows():
            changes.setdefault((column, code, severity, action), []).append((old, new, int(count)))
        return changes

    def _decision(self, key: DecisionKey) -> _Decision:
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = _Decision(key)
        return decision

    def _add_ranges(
        self, decision: _Decision, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Spend the budget on the ranges of ``rows``; return the ranges to render now."""
        if decision.rows_truncated:
            return None
        if len(rows) > 1 and not bool(np.all(rows[1:] > rows[:-1])):
            rows = np.unique(rows)  # sorted, each row once
        breaks = np.flatnonzero(np.diff(rows) != 1)
        starts = np.concatenate((rows[:1], rows[breaks + 1]))
        ends = np.concatenate((rows[breaks], rows[-1:]))
        costs = _range_costs(starts, ends)
        if decision.last_end is not None and starts[0] == decision.last_end + 1:
            costs[0] = int(_digits(ends[:1])[0]) + 3  # the last range grows to ``[s,e]``
        spent = np.cumsum(costs)
        affordable = int(np.searchsorted(spent, self._budget, side="right"))
        if affordable < len(starts):
            decision.rows_truncated = True
            starts, ends = starts[:affordable], ends[:affordable]
        self._budget -= int(spent[affordable - 1]) if affordable else 0
        return decision.add_ranges(starts, ends)

    def _count_change(self, decision: _Decision, change: Change, count: int) -> None:
        if change in decision.changes:
            decision.changes[change] += count
            return
        listable = _listable(change[0]) and _listable(change[1])
        cost = _CHANGE_OVERHEAD + sum(len(_dumps(v).encode()) for v in change) if listable else 0
        if (
            listable
            and not decision.changes_full
            and len(decision.changes) < MAX_CHANGES_PER_DECISION
            and cost <= self._budget
        ):
            decision.changes[change] = count
            self._budget -= cost
            return
        decision.changes_unlisted += count
        if listable and not decision.changes_full:  # no room: from now on count listed ones
            decision.changes_full = True

    def _count_listed(self, grouped: pl.DataFrame) -> None:
        """Add the change counts ``grouped`` (decision, change, ``len``) of full decisions:
        listed changes to their counts, the others to ``changesUnlisted``."""
        for column, code, severity, action, old, new, count in grouped.iter_rows():
            decision = self._decisions[(column, code, severity, action)]
            if (old, new) in decision.changes:
                decision.changes[(old, new)] += int(count)
            else:
                decision.changes_unlisted += int(count)

    def render_entries(self) -> Iterator[bytes]:
        """The entries as UTF-8 JSON texts, one per decision, in order of first appearance."""
        for decision in self._decisions.values():
            yield decision.render().encode("utf-8")
