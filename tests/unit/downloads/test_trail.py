"""The compact trail: one entry per decision, rows as ranges, distinct changes with counts,
and its bounds (changes per decision, long values, the byte budget)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.downloads.trail import (
    MAX_CHANGE_VALUE_CHARS,
    MAX_CHANGES_PER_DECISION,
    TRAIL_BUDGET_MAX_BYTES,
    TRAIL_BUDGET_MIN_BYTES,
    CompactTrail,
    trail_budget,
)
from domain.model import ROW_ISSUE_SCHEMA

BIG = 1 << 30


def _issues(
    rows: list[int],
    *,
    column: str | None = "city",
    code: str = "leading_trailing_whitespace",
    old: list[str | None] | None = None,
    new: list[str | None] | None = None,
) -> pa.Table:
    n = len(rows)
    return pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "column": pa.array([column] * n, pa.string()),
            "code": [code] * n,
            "severity": ["low"] * n,
            "old_value": pa.array(old if old is not None else [" x"] * n, pa.string()),
            "new_value": pa.array(new if new is not None else ["x"] * n, pa.string()),
            "action": ["trimmed"] * n,
        },
        schema=ROW_ISSUE_SCHEMA,
    )


def _entries(trail: CompactTrail) -> list[dict[str, Any]]:
    return [json.loads(entry) for entry in trail.render_entries()]


def _expand(rows: list[Any]) -> list[int]:
    out: list[int] = []
    for item in rows:
        first, last = (item, item) if isinstance(item, int) else item
        out.extend(range(first, last + 1))
    return out


def test_a_blank_line_flood_is_one_range() -> None:
    trail = CompactTrail(trail_budget(10_000_000))
    for start in range(2, 1_000_002, 40_000):  # engine-sized chunks
        rows = list(range(start, min(start + 40_000, 1_000_002)))
        trail.add(_issues(rows, column=None, code="blank_row", old=[None] * len(rows)))
    (entry,) = _entries(trail)
    assert entry["rows"] == [[2, 1_000_001]]
    assert entry["cells"] == 1_000_000
    assert entry["changes"] == [{"old": None, "new": "x", "count": 1_000_000}]
    assert len(b"".join(trail.render_entries())) < 300


def test_rows_are_sorted_deduplicated_and_joined_across_chunks() -> None:
    trail = CompactTrail(BIG)
    trail.add(_issues([9, 3, 4, 4, 5]))
    trail.add(_issues([10, 11, 20]))
    (entry,) = _entries(trail)
    assert entry["rows"] == [[3, 5], [9, 11], 20]
    assert entry["cells"] == 8  # every issue counts, the repeated row too


def test_decisions_are_separate_entries_in_order_of_appearance() -> None:
    trail = CompactTrail(BIG)
    trail.add(_issues([2, 3], column="name"))
    trail.add(_issues([2], column="city", code="case_noise"))
    trail.add(_issues([4], column="name"))
    assert [(e["column"], e["code"], e["rows"]) for e in _entries(trail)] == [
        ("name", "leading_trailing_whitespace", [[2, 4]]),
        ("city", "case_noise", [2]),
    ]


def test_changes_beyond_the_cap_are_counted_as_unlisted_and_listed_counts_stay_exact() -> None:
    trail = CompactTrail(BIG)
    first = [f"v{i}" for i in range(MAX_CHANGES_PER_DECISION + 5)]
    trail.add(_issues(list(range(len(first))), old=first, new=[None] * len(first)))
    # later chunks repeat listed values and bring new ones
    again = ["v0", "v1", "v1", "new-a", "new-b"]
    trail.add(_issues(list(range(5_000, 5_005)), old=again, new=[None] * 5))
    (entry,) = _entries(trail)
    listed = {c["old"]: c["count"] for c in entry["changes"]}
    assert len(listed) == MAX_CHANGES_PER_DECISION
    assert listed["v0"] == 2
    assert listed["v1"] == 3
    assert entry["changesUnlisted"] == 5 + 2
    assert sum(listed.values()) + entry["changesUnlisted"] == entry["cells"]


def test_long_values_are_not_listed() -> None:
    long = "y" * (MAX_CHANGE_VALUE_CHARS + 1)
    trail = CompactTrail(BIG)
    trail.add(_issues([2, 3, 4], old=[long, " a", long], new=["y", "a", "y"]))
    (entry,) = _entries(trail)
    assert entry["changes"] == [{"old": " a", "new": "a", "count": 1}]
    assert entry["changesUnlisted"] == 2


def test_the_budget_bounds_the_entries_and_says_what_it_cut() -> None:
    budget = 10_000
    trail = CompactTrail(budget)
    for column in ("a", "b", "c"):
        rows = list(range(2, 20_000, 2))  # every other row: one range per row
        trail.add(_issues(rows, column=column, old=[f" {r}" for r in rows], new=None))
    entries = _entries(trail)
    assert [e["cells"] for e in entries] == [9_999] * 3  # counts stay exact
    assert entries[0]["rowsTruncated"] is True
    assert entries[2]["rows"] == []
    assert entries[2]["rowsTruncated"] is True
    assert all(r in range(2, 20_000, 2) for e in entries for r in _expand(e["rows"]))
    for entry in entries:
        assert sum(c["count"] for c in entry["changes"]) + entry["changesUnlisted"] == 9_999
    rendered = sum(len(entry) for entry in trail.render_entries())
    assert rendered <= budget + 3 * 300  # the budget plus each entry's fixed members


def test_the_budget_follows_the_input_within_its_bounds() -> None:
    assert trail_budget(0) == TRAIL_BUDGET_MIN_BYTES
    assert trail_budget(40 << 20) == 10 << 20
    assert trail_budget(10 << 30) == TRAIL_BUDGET_MAX_BYTES


_issue = st.tuples(
    st.integers(2, 60),
    st.sampled_from(["a", "b", None]),
    st.sampled_from(["whitespace", "null_sentinel"]),
    st.sampled_from([" x", "N/A", None]),
    st.sampled_from(["x", None]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_issue, max_size=30), max_size=5))
def test_entries_give_back_every_row_and_every_change(chunks: list[list[Any]]) -> None:
    trail = CompactTrail(BIG)
    expected_rows: dict[tuple[Any, ...], set[int]] = {}
    expected_changes: dict[tuple[Any, ...], Counter[tuple[Any, Any]]] = {}
    for chunk in chunks:
        table = pa.Table.from_pylist(
            [
                {
                    "row": row,
                    "column": column,
                    "code": code,
                    "severity": "low",
                    "old_value": old,
                    "new_value": new,
                    "action": "act",
                }
                for row, column, code, old, new in chunk
            ],
            schema=ROW_ISSUE_SCHEMA,
        )
        trail.add(table)
        for row, column, code, old, new in chunk:
            expected_rows.setdefault((column, code), set()).add(row)
            expected_changes.setdefault((column, code), Counter())[(old, new)] += 1
    entries = _entries(trail)
    assert {(e["column"], e["code"]) for e in entries} == set(expected_rows)
    for entry in entries:
        key = (entry["column"], entry["code"])
        assert set(_expand(entry["rows"])) == expected_rows[key]
        got = Counter({(c["old"], c["new"]): c["count"] for c in entry["changes"]})
        assert got == expected_changes[key]
        assert entry["cells"] == sum(expected_changes[key].values())


def test_the_budget_counts_changes_as_written_escapes_included() -> None:
    budget = 50_000
    trail = CompactTrail(budget)
    olds = [f"\x01{i:04d}" * 40 for i in range(500)]  # 200 characters, ~1 KB once escaped
    trail.add(_issues(list(range(2, 502)), old=olds, new=[None] * 500))
    (entry,) = _entries(trail)
    assert 0 < len(entry["changes"]) < 500
    assert entry["changesUnlisted"] == 500 - len(entry["changes"])
    assert sum(len(e) for e in trail.render_entries()) <= budget + 300
