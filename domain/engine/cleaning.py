"""Pass 2: apply the cleaning plan chunk by chunk and emit the row-level issues of each slice.

Order of the cell steps (each step with its own row issue, so every change is traceable):
trim -> unify null sentinels -> convert formatted numbers -> merge spelling clusters.
Then whole rows: blank rows and exact duplicates (on the cleaned values, first kept) are
dropped. Flags (no change): type mismatches, minority date formats, outliers, formula risk,
ragged rows (repaired by padding or truncation).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from domain.engine import cells, patterns
from domain.engine.duplicates import DuplicateTracker
from domain.engine.plan import CleaningPlan, ColumnPlan
from domain.engine.profiling import hash_rows
from domain.model import ROW_ISSUE_SCHEMA, CleanedChunk, Severity
from domain.reading import RawChunk

_ISSUE_COLUMNS = ("row", "column", "code", "severity", "old_value", "new_value", "action")


@dataclass(frozen=True)
class IssueKind:
    code: str
    severity: Severity
    action: str


NULL_SENTINEL = IssueKind("null_sentinel", Severity.LOW, "set_null")
TRIMMED = IssueKind("leading_trailing_whitespace", Severity.LOW, "trimmed")
CONVERTED = IssueKind("numeric_formatting", Severity.LOW, "converted")
MERGED = IssueKind("inconsistent_spelling", Severity.MEDIUM, "merged")
TYPE_MISMATCH = IssueKind("type_mismatch", Severity.MEDIUM, "flagged")
OUTLIER = IssueKind("outlier", Severity.LOW, "flagged")
MIXED_DATES = IssueKind("mixed_date_formats", Severity.MEDIUM, "flagged")
FORMULA = IssueKind("formula_injection_risk", Severity.HIGH, "flagged")


@dataclass
class CleaningTotals:
    """Exact counts gathered while cleaning (used to refine the pass-1 profile)."""

    rows_in: int = 0
    rows_out: int = 0
    blank_rows: int = 0
    duplicate_rows: int = 0
    duplicate_sample: list[int] = field(default_factory=list)
    issues: Counter[tuple[str, str | None]] = field(default_factory=Counter)


def _issue_frame(
    frame: pl.DataFrame,
    mask: pl.Expr,
    old: pl.Expr,
    new: pl.Expr,
    *,
    column: str | None,
    kind: IssueKind,
) -> pl.LazyFrame:
    return (
        frame.lazy()
        .filter(mask)
        .select(
            pl.col("__row").alias("row"),
            pl.lit(column, pl.String).alias("column"),
            pl.lit(kind.code).alias("code"),
            pl.lit(str(kind.severity)).alias("severity"),
            old.cast(pl.String).alias("old_value"),
            new.cast(pl.String).alias("new_value"),
            pl.lit(kind.action).alias("action"),
        )
    )


class Cleaner:
    def __init__(self, plan: CleaningPlan, sentinels: tuple[str, ...], sample_limit: int) -> None:
        self._plan = plan
        self._sentinels = sentinels
        self._duplicates = DuplicateTracker()
        self._sample_limit = sample_limit
        self.totals = CleaningTotals()

    def _stage_columns(self, spec: ColumnPlan, index: int) -> list[pl.Expr]:
        source = spec.source
        norm = cells.normalized(source, self._sentinels)
        return [
            norm.alias(f"n{index}"),
            cells.is_null_like(source, self._sentinels).alias(f"z{index}"),
            cells.trimmed(source).alias(f"t{index}"),
        ]

    def clean(self, chunk: RawChunk) -> CleanedChunk:
        plan = self._plan
        raw = pl.from_arrow(chunk.batch)
        assert isinstance(raw, pl.DataFrame)
        raw = raw.with_columns(pl.Series("__row", chunk.rows))
        staged = raw.with_columns(
            [e for i, spec in enumerate(plan.columns) for e in self._stage_columns(spec, i)]
        )
        steps: list[pl.Expr] = []
        for i, spec in enumerate(plan.columns):
            norm = pl.col(f"n{i}")
            if spec.convert_numbers:
                needs = norm.str.contains(patterns.FORMATTED_NUMBER) & ~norm.str.contains(
                    patterns.DECIMAL
                )
                converted = pl.when(needs).then(cells.plain_number(f"n{i}")).otherwise(norm)
            else:
                converted = norm
            steps.append(converted.alias(f"v{i}"))
        staged = staged.with_columns(steps)
        finals: list[pl.Expr] = []
        for i, spec in enumerate(plan.columns):
            value = pl.col(f"v{i}")
            if spec.merge:
                value = value.replace(list(spec.merge), list(spec.merge.values()))
            finals.append(value.alias(f"f{i}"))
        staged = staged.with_columns(finals)
        final_names = [f"f{i}" for i in range(len(plan.columns))]
        finals_frame = staged.select(final_names)
        blank = (
            finals_frame.select(pl.all_horizontal(pl.all().is_null())).to_series().to_numpy()
            if final_names
            else np.ones(staged.height, dtype=np.bool_)
        )
        duplicate = np.zeros(staged.height, dtype=np.bool_)
        duplicate[~blank] = self._duplicates.mark(hash_rows(finals_frame.filter(~pl.Series(blank))))
        keep = ~(blank | duplicate)
        staged = staged.with_columns(pl.Series("__keep", keep))
        issues = self._issues(staged, chunk, blank, duplicate)
        out = staged.filter(pl.col("__keep")).select(
            [pl.col(f"f{i}").alias(spec.name) for i, spec in enumerate(plan.columns)]
        )
        batch = _to_batch(out, plan.header)
        totals = self.totals
        totals.rows_in += staged.height
        totals.rows_out += batch.num_rows
        totals.blank_rows += int(blank.sum())
        totals.duplicate_rows += int(duplicate.sum())
        if len(totals.duplicate_sample) < self._sample_limit:
            totals.duplicate_sample.extend(
                int(r) for r in chunk.rows[duplicate][: self._sample_limit]
            )
            del totals.duplicate_sample[self._sample_limit :]
        if issues.num_rows:
            counted = pl.from_arrow(issues.select(["code", "column"]))
            assert isinstance(counted, pl.DataFrame)
            for code, column, n in counted.group_by(["code", "column"]).len().iter_rows():
                totals.issues[(str(code), column)] += int(n)
        return CleanedChunk(batch=batch, issues=issues)

    def _issues(
        self,
        staged: pl.DataFrame,
        chunk: RawChunk,
        blank: np.ndarray,
        duplicate: np.ndarray,
    ) -> pa.Table:
        kept = pl.col("__keep")
        parts: list[pl.LazyFrame] = []
        for i, spec in enumerate(self._plan.columns):
            raw, trim, null, norm, conv, final = (
                pl.col(spec.source),
                pl.col(f"t{i}"),
                pl.col(f"z{i}"),
                pl.col(f"n{i}"),
                pl.col(f"v{i}"),
                pl.col(f"f{i}"),
            )
            flagged: list[tuple[pl.Expr, IssueKind]] = []
            changed: list[tuple[pl.Expr, pl.Expr, pl.Expr, IssueKind]] = [
                (null & (raw.str.len_bytes() > 0), raw, pl.lit(None, pl.String), NULL_SENTINEL),
                (~null & (raw != trim), raw, trim, TRIMMED),
            ]
            if spec.convert_numbers:
                changed.append((conv != norm, norm, conv, CONVERTED))
            if spec.merge:
                changed.append((final != conv, conv, final, MERGED))
            present = final.is_not_null()
            if spec.inferred_type in ("integer", "decimal"):
                fits = final.str.contains(patterns.DECIMAL)
                flagged.append((present & ~fits, TYPE_MISMATCH))
                if spec.fences is not None:
                    number = pl.when(fits).then(final.cast(pl.Float64, strict=False))
                    low, high = spec.fences
                    flagged.append((present & fits & ((number < low) | (number > high)), OUTLIER))
            elif spec.fit_pattern is not None:
                fits = final.str.contains(spec.fit_pattern)
                flagged.append((present & ~fits, TYPE_MISMATCH))
                if spec.minority_date_pattern is not None:
                    minority = fits & ~final.str.contains(spec.minority_date_pattern)
                    flagged.append((present & minority, MIXED_DATES))
            flagged.append((cells.is_formula_risk(f"f{i}").fill_null(value=False), FORMULA))
            for mask, old, new, kind in changed:
                parts.append(
                    _issue_frame(staged, kept & mask, old, new, column=spec.name, kind=kind)
                )
            for mask, kind in flagged:
                parts.append(
                    _issue_frame(staged, kept & mask, final, final, column=spec.name, kind=kind)
                )
        rows = chunk.rows
        row_parts = [
            pl.DataFrame({"row": rows[blank]})
            .lazy()
            .select(
                pl.col("row"),
                pl.lit(None, pl.String).alias("column"),
                pl.lit("blank_row").alias("code"),
                pl.lit(str(Severity.LOW)).alias("severity"),
                pl.lit(None, pl.String).alias("old_value"),
                pl.lit(None, pl.String).alias("new_value"),
                pl.lit("dropped").alias("action"),
            ),
            pl.DataFrame({"row": rows[duplicate]})
            .lazy()
            .select(
                pl.col("row"),
                pl.lit(None, pl.String).alias("column"),
                pl.lit("duplicate_row").alias("code"),
                pl.lit(str(Severity.MEDIUM)).alias("severity"),
                pl.lit(None, pl.String).alias("old_value"),
                pl.lit(None, pl.String).alias("new_value"),
                pl.lit("dropped").alias("action"),
            ),
        ]
        if chunk.ragged:
            width = len(self._plan.columns) + len(self._plan.dropped)
            row_parts.append(
                pl.DataFrame(
                    {
                        "row": [r.row for r in chunk.ragged],
                        "column": pl.Series([None] * len(chunk.ragged), dtype=pl.String),
                        "code": ["ragged_row"] * len(chunk.ragged),
                        "severity": [str(Severity.HIGH)] * len(chunk.ragged),
                        "old_value": [r.text for r in chunk.ragged],
                        "new_value": pl.Series([None] * len(chunk.ragged), dtype=pl.String),
                        "action": [
                            "truncated" if r.cells > width else "padded" for r in chunk.ragged
                        ],
                    }
                ).lazy()
            )
        lazy = [p.with_columns(pl.col("row").cast(pl.Int64)) for p in row_parts + parts]
        frame = pl.concat(lazy, how="vertical").collect().sort("row", maintain_order=True)
        return _to_issue_table(frame)


def _to_batch(frame: pl.DataFrame, header: tuple[str, ...]) -> pa.RecordBatch:
    schema = pa.schema([pa.field(name, pa.string()) for name in header])
    if frame.width == 0:
        return pa.RecordBatch.from_pylist([], schema=schema)
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema)
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)


def _to_issue_table(frame: pl.DataFrame) -> pa.Table:
    if frame.height == 0:
        return ROW_ISSUE_SCHEMA.empty_table()
    table = frame.select(_ISSUE_COLUMNS).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(ROW_ISSUE_SCHEMA)
