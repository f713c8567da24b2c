"""The cleaning plan pass 2 applies: per kept column, what to convert, merge and flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnPlan:
    source: str  # raw chunk column ("c0", ...)
    name: str  # cleaned name
    inferred_type: str
    convert_numbers: bool  # formatted numbers -> plain digits ("1,234,567" -> "1234567")
    # lone comma groups ("1,500") are converted too only where the column reads them as
    # thousands separators (verdicts.reads_lone_groups); otherwise they stay as written
    converts_lone_groups: bool = True
    merge: Mapping[str, str] = field(default_factory=dict)  # variant -> canonical spelling
    case_only: frozenset[str] = frozenset()  # variants differing from canonical only by case
    fit_pattern: str | None = None  # cells not matching are flagged "type_mismatch"
    minority_date_pattern: str | None = None  # flagged "mixed_date_formats"
    kept_tokens: frozenset[str] = frozenset()  # placeholder spellings that are values here
    # What pass 1 saw in the kept rows; pass 2 skips the checks that cannot hit (its kept rows
    # are a subset of pass 1's, and its changes never create these problems).
    has_sentinels: bool = True
    has_whitespace: bool = True
    has_formatted: bool = True
    has_invalid: bool = True
    has_formula_risk: bool = True


@dataclass(frozen=True)
class CleaningPlan:
    columns: tuple[ColumnPlan, ...]  # kept columns, in output order
    dropped: tuple[str, ...]  # raw chunk columns dropped (empty)
    # (raw chunk column, name) of the dropped columns holding placeholders: each such cell is
    # in the trail ("empty_column", dropped)
    dropped_placeholders: tuple[tuple[str, str], ...] = ()
    drop_blank_rows: bool = True
    drop_duplicate_rows: bool = True
    neutralise_formulas: bool = False  # formula-risk cells get a leading apostrophe
    duplicate_key: str | None = None  # the key column that repeats with duplicate rows

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)
