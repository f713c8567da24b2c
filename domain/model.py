"""Values passed between the analysis engine, the report builder and the download generators.

This module is the contract inside ``domain``: the engine (``domain.engine``) produces a
:class:`Profile` and a stream of :class:`CleanedChunk`; the report builder and the generators in
``domain.downloads`` consume them. Pure values only: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import pyarrow as pa

TOOL_NAME: Final = "clean-my-data"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class ArtifactFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    PARQUET = "parquet"


# Arrow schema of row-level issues (one row per changed or flagged cell/row).
# row: 1-based record number in the input, the header being row 1 and the first data record
# row 2; every record counts, blank ones included (the row number a spreadsheet shows; equal to
# the physical line number unless a quoted field spans lines). For XLSX input, the sheet row.
# column: cleaned column name, null for whole-row issues.
ROW_ISSUE_SCHEMA: Final = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("column", pa.string()),
        pa.field("code", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("old_value", pa.string()),
        pa.field("new_value", pa.string()),
        pa.field("action", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class SourceInfo:
    file_name: str  # base name as given by the user (not sanitised)
    size_bytes: int
    input_format: str  # "csv" | "xlsx"
    encoding: str  # e.g. "utf-8", "utf-8-sig", "utf-16", "cp1252"; "xlsx" for workbooks
    delimiter: str | None  # None for xlsx
    sheet: str | None = None
    encoding_confidence: float = 1.0  # 0..1: 1 for a BOM, valid UTF-8 and workbooks


@dataclass(frozen=True)
class Finding:
    """One data-quality problem: a code, a severity and where it is."""

    code: str  # snake_case, stable, e.g. "duplicate_rows", "null_sentinel"
    severity: Severity
    message: str  # one plain-language sentence
    column: str | None = None  # cleaned column name, None for table-level findings
    count: int = 0  # affected cells or rows
    sample_rows: tuple[int, ...] = ()  # bounded sample of row numbers (see ROW_ISSUE_SCHEMA)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recommendation:
    code: str
    message: str
    column: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnProfile:
    name: str  # cleaned (unique snake_case) name
    original_name: str
    position: int  # 0-based
    inferred_type: (
        str  # "integer" | "decimal" | "boolean" | "date" | "datetime" | "text" | "code" | "empty"
    )
    count: int  # rows
    missing: int  # empty cells + null sentinels
    missing_share: float  # 0..1
    distinct: int  # exact up to a cap, then an estimate (see distinct_is_estimate)
    distinct_is_estimate: bool
    invalid: int  # cells not fitting inferred_type
    stats: Mapping[str, Any] = field(default_factory=dict)  # min/max/mean/quantiles/skew...
    top_values: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class RoutingDecision:
    """One cleaning action, applied or not, with before/after counts."""

    action: str  # e.g. "trim_whitespace", "drop_duplicate_rows"
    applied: bool
    reason: str
    columns: tuple[str, ...] = ()
    before: int = 0  # e.g. rows before / affected cells before
    after: int = 0
    changed: int = 0  # cells or rows changed by this action


@dataclass(frozen=True)
class Scores:
    """0..100 each; see docs/design/analysis.md for the definitions."""

    completeness: float
    validity: float
    uniqueness: float
    consistency: float

    @property
    def overall(self) -> float:
        return round(
            (self.completeness + self.validity + self.uniqueness + self.consistency) / 4, 1
        )


@dataclass(frozen=True)
class Shape:
    rows_in: int
    columns_in: int
    rows_out: int
    columns_out: int


@dataclass(frozen=True)
class Profile:
    """Everything the first pass learned, and the cleaning plan the second pass applies."""

    source: SourceInfo
    shape: Shape
    columns: tuple[ColumnProfile, ...]
    findings: tuple[Finding, ...]
    recommendations: tuple[Recommendation, ...]
    routing: tuple[RoutingDecision, ...]
    scores: Scores
    cleaned_header: tuple[str, ...]


@dataclass(frozen=True)
class CleanedChunk:
    """A slice of the cleaned table (all columns as strings, nulls as null) and the row-level
    issues found in that slice (schema ROW_ISSUE_SCHEMA)."""

    batch: pa.RecordBatch
    issues: pa.Table
