"""Pass 2: apply the cleaning plan chunk by chunk and emit the row-level issues of each slice.

Order of the cell steps (each step with its own row issue, so every change is traceable):
trim -> unify null sentinels -> convert formatted numbers -> merge spelling clusters ->
neutralise formula-risk cells (only when the plan says so). Then whole rows: blank rows are
dropped, exact duplicates (on the cleaned values, first kept) are reported and dropped when the
plan says so. Flags (no change): type mismatches, minority date formats, formula risk, ragged
rows (repaired by padding or truncation). Outliers are reported in their finding (the most
extreme values with their rows), not flagged cell by cell.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from domain.engine import cells, patterns
from domain.engine.duplicates import DuplicateTracker
from domain.engine.plan import CleaningPlan, ColumnPlan
from domain.engine.profiling import hash_rows
from domain.model import ROW_ISSUE_SCHEMA, CleanedChunk, Severity
from domain.reading import RawChunk

BRANCHES_PER_QUERY = 64  # cell checks whose masks and issues one query computes
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
MERGED_CASE = IssueKind("case_noise", Severity.LOW, "merged")
TYPE_MISMATCH = IssueKind("type_mismatch", Severity.MEDIUM, "flagged")
MIXED_DATES = IssueKind("mixed_date_formats", Severity.MEDIUM, "flagged")
FORMULA = IssueKind("formula_injection_risk", Severity.HIGH, "flagged")
NEUTRALISED = IssueKind("formula_injection_risk", Severity.HIGH, "neutralised")
EMPTY_COLUMN = IssueKind("empty_column", Severity.MEDIUM, "dropped")
BLANK_ROW = IssueKind("blank_row", Severity.LOW, "dropped")  # old value: placeholders held
DUPLICATE_ROW = IssueKind("duplicate_row", Severity.MEDIUM, "dropped")
DUPLICATE_KEPT = IssueKind("duplicate_row", Severity.MEDIUM, "flagged")
TRUNCATED = IssueKind("ragged_row", Severity.HIGH, "truncated")
PADDED = IssueKind("ragged_row", Severity.HIGH, "padded")


@dataclass
class CleaningTotals:
    """Exact counts gathered while cleaning (used to refine the pass-1 profile)."""

    rows_in: int = 0
    rows_out: int = 0
    blank_rows: int = 0
    duplicate_rows: int = 0
    duplicate_sample: list[int] = field(default_factory=list)
    issues: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    # the first row numbers of each (code, column) of the row issues, for the findings
    samples: dict[tuple[str, str | None], list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _CheckGroup:
    """Up to ``BRANCHES_PER_QUERY`` cell checks: their masks, the columns they read, and per
    check the selection of its row issues (built once, used for every chunk)."""

    checks: tuple[int, ...]  # indexes into the checks
    masks: tuple[pl.Expr, ...]
    needed: tuple[str, ...]
    sums: tuple[pl.Expr, ...]
    selections: tuple[tuple[pl.Expr, ...], ...]


class Cleaner:
    def __init__(self, plan: CleaningPlan, sentinels: tuple[str, ...], sample_limit: int) -> None:
        self._plan = plan
        self._sentinels = sentinels
        self._duplicates = DuplicateTracker()
        self._sample_limit = sample_limit
        self.totals = CleaningTotals()
        # the expressions depend on the plan only: built once, used for every chunk
        self._stage_exprs = self._staging()
        self._merged_exprs = self._merging()
        self._check_list = self._checks()
        self._check_groups = self._groups()

    def _staging(self) -> tuple[list[pl.Expr], ...]:
        """The t<i> (trimmed), z<i> (null-like) and n<i> (normalised) expressions, one list per
        step, for every kept column."""
        spellings = cells.sentinel_spellings(self._sentinels)
        columns = self._plan.columns
        return (
            [cells.trimmed(spec.source).alias(f"t{i}") for i, spec in enumerate(columns)],
            [
                pl.col(f"t{i}").is_in(self._null_spellings(spellings, spec)).alias(f"z{i}")
                for i, spec in enumerate(columns)
            ],
            [
                pl.when(pl.col(f"z{i}")).then(None).otherwise(pl.col(f"t{i}")).alias(f"n{i}")
                for i in range(len(columns))
            ],
        )

    def _stage(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Add t<i>, z<i> and n<i> for every kept column, trimming each cell once."""
        staged = raw
        for step in self._stage_exprs:
            staged = staged.with_columns(step)
        return staged

    @staticmethod
    def _null_spellings(spellings: tuple[str, ...], spec: ColumnPlan) -> tuple[str, ...]:
        """The spellings read as missing in this column (those kept as values left out)."""
        if not spec.kept_tokens:
            return spellings
        return tuple(s for s in spellings if s not in spec.kept_tokens)

    def _convert_numbers(self, staged: pl.DataFrame) -> list[pl.Series]:
        """The v<i> columns: normalised values with formatted numbers made plain in numeric
        columns. Only cells that do not parse as plain numbers meet the regular expression."""
        numeric = [
            i
            for i, spec in enumerate(self._plan.columns)
            if spec.convert_numbers and spec.has_formatted
        ]
        unparsed = staged.select(
            (pl.col(f"n{i}").is_not_null() & cells.as_number(f"n{i}").is_null()).alias(f"u{i}")
            for i in numeric
        )
        converted: list[pl.Series] = []
        for i in range(len(self._plan.columns)):
            norm = staged.get_column(f"n{i}")
            if i in numeric:
                index = unparsed.get_column(f"u{i}").arg_true()
                if index.len():
                    subset = norm.gather(index).to_frame("x")
                    convertible = pl.col("x").str.contains(patterns.FORMATTED_NUMBER)
                    if not self._plan.columns[i].converts_lone_groups:
                        convertible &= ~pl.col("x").str.contains(patterns.LONE_GROUP)
                    fixed = subset.select(
                        pl.when(convertible).then(cells.plain_number("x")).otherwise(pl.col("x"))
                    ).to_series()
                    norm = norm.clone().scatter(index, fixed)
            converted.append(norm.alias(f"v{i}"))
        return converted

    def clean(self, chunk: RawChunk) -> CleanedChunk:
        plan = self._plan
        raw = pl.from_arrow(chunk.table)
        assert isinstance(raw, pl.DataFrame)
        raw = raw.with_columns(pl.Series("__row", chunk.rows))
        staged = self._stage(raw)
        staged = staged.with_columns(self._convert_numbers(staged))
        merged, finals = self._merged_exprs
        staged = staged.with_columns(merged)
        if finals:
            staged = staged.with_columns(finals)
        final_names = [f"f{i}" for i in range(len(plan.columns))]
        finals_frame = staged.select(final_names)
        blank = (
            finals_frame.select(pl.all_horizontal(pl.all().is_null())).to_series().to_numpy()
            if final_names
            else np.ones(staged.height, dtype=np.bool_)
        )
        duplicate = np.zeros(staged.height, dtype=np.bool_)
        if final_names:
            present = finals_frame.filter(~pl.Series(blank))
            duplicate[~blank] = self._duplicates.mark(hash_rows(present))
        keep = ~(blank | duplicate) if plan.drop_duplicate_rows else ~blank
        staged = staged.with_columns(pl.Series("__keep", keep))
        issues, counts = self._issues(staged, chunk, blank, duplicate)
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
        totals.issues.update(counts)
        _sample_issue_rows(totals.samples, issues, counts, self._sample_limit)
        return CleanedChunk(batch=batch, issues=issues)

    def _merging(self) -> tuple[list[pl.Expr], list[pl.Expr]]:
        """The m<i>/f<i> expressions: spelling merges, then neutralised formulas."""
        merged: list[pl.Expr] = []
        finals: list[pl.Expr] = []
        for i, spec in enumerate(self._plan.columns):
            value = pl.col(f"v{i}")
            if spec.merge:
                value = value.replace(list(spec.merge), list(spec.merge.values()))
            if self._neutralises(i):
                merged.append(value.alias(f"m{i}"))
                finals.append(cells.neutralised(f"m{i}").alias(f"f{i}"))
            else:
                merged.append(value.alias(f"f{i}"))
        return merged, finals

    def _blank_texts(self, staged: pl.DataFrame, blank: npt.NDArray[np.bool_]) -> pl.Series | None:
        """The old value of each dropped blank row: its cells joined with commas where one of
        them holds a placeholder (a row of ``NA,null``), else null."""
        sources = sorted(
            [spec.source for spec in self._plan.columns] + list(self._plan.dropped),
            key=lambda name: int(name[1:]),
        )
        if not blank.any() or not sources:
            return None
        cells_of = [pl.col(name).fill_null("") for name in sources]
        filled = pl.any_horizontal(c.str.strip_chars().str.len_bytes() > 0 for c in cells_of)
        texts = staged.filter(pl.Series(blank)).select(
            pl.when(filled).then(pl.concat_str(cells_of, separator=",")).alias("old_value")
        )
        return texts.to_series()

    def _neutralises(self, i: int) -> bool:
        return self._plan.neutralise_formulas and self._plan.columns[i].has_formula_risk

    def _checks(self) -> list[tuple[pl.Expr, str | None, str | None, IssueKind, str]]:
        """(mask, column holding the old value, column holding the new value, kind, column)
        for every cell-level issue of the plan."""
        checks: list[tuple[pl.Expr, str | None, str | None, IssueKind, str]] = []
        for i, spec in enumerate(self._plan.columns):
            raw, trim, null = pl.col(spec.source), pl.col(f"t{i}"), pl.col(f"z{i}")
            norm, conv, final = pl.col(f"n{i}"), pl.col(f"v{i}"), pl.col(f"f{i}")
            final_name = f"f{i}"
            merged_name = f"m{i}" if self._neutralises(i) else final_name
            merged = pl.col(merged_name)

            def flag(
                mask: pl.Expr, kind: IssueKind, name: str = spec.name, held: str = final_name
            ) -> None:
                checks.append((mask, held, held, kind, name))

            if spec.has_sentinels:
                sentinel = null & (raw.str.len_bytes() > 0)
                checks.append((sentinel, spec.source, None, NULL_SENTINEL, spec.name))
            if spec.has_whitespace:
                checks.append((~null & (raw != trim), spec.source, f"t{i}", TRIMMED, spec.name))
            if spec.convert_numbers and spec.has_formatted:
                checks.append((conv != norm, f"n{i}", f"v{i}", CONVERTED, spec.name))
            if spec.merge:
                changed = merged != conv
                by_case = conv.is_in(list(spec.case_only))
                checks.append((changed & ~by_case, f"v{i}", merged_name, MERGED, spec.name))
                if spec.case_only:
                    checks.append((changed & by_case, f"v{i}", merged_name, MERGED_CASE, spec.name))
            present = final.is_not_null()
            if spec.inferred_type in ("integer", "decimal", "code"):
                number = cells.as_number(final_name)
                if spec.has_invalid:
                    flag(present & number.is_null(), TYPE_MISMATCH)
            elif spec.fit_pattern is not None:
                fits = final.str.contains(spec.fit_pattern)
                if spec.has_invalid:
                    flag(present & ~fits, TYPE_MISMATCH)
                if spec.minority_date_pattern is not None:
                    flag(
                        present & fits & ~final.str.contains(spec.minority_date_pattern),
                        MIXED_DATES,
                    )
            if self._neutralises(i):
                checks.append((final != merged, merged_name, final_name, NEUTRALISED, spec.name))
            elif spec.has_formula_risk:
                flag(cells.is_formula_risk(final_name), FORMULA)
        for source, name in self._plan.dropped_placeholders:
            placeholder = cells.trimmed(source).str.len_bytes() > 0
            checks.append((placeholder, source, None, EMPTY_COLUMN, name))
        return checks

    def _issues(
        self,
        staged: pl.DataFrame,
        chunk: RawChunk,
        blank: npt.NDArray[np.bool_],
        duplicate: npt.NDArray[np.bool_],
    ) -> tuple[pa.Table, Counter[tuple[str, str | None]]]:
        """Every row issue of the chunk, from lazy queries of a branch per whole-row kind and
        per cell check that hit (filter on its mask, the old and new values, the constant
        columns), concatenated and ordered by row. Polars runs the branches of a query in
        parallel; no Python work per issue and no small eager frame per check."""
        counts: Counter[tuple[str, str | None]] = Counter()
        parts = [
            _row_issues(chunk.rows[blank], BLANK_ROW, self._blank_texts(staged, blank)),
            _row_issues(
                chunk.rows[duplicate],
                DUPLICATE_ROW if self._plan.drop_duplicate_rows else DUPLICATE_KEPT,
                None,
            ),
        ]
        counts[(BLANK_ROW.code, None)] += int(blank.sum())
        counts[(DUPLICATE_ROW.code, None)] += int(duplicate.sum())
        if chunk.ragged:
            width = len(self._plan.columns) + len(self._plan.dropped)
            for kind, ragged in (
                (TRUNCATED, [r for r in chunk.ragged if r.cells > width]),
                (PADDED, [r for r in chunk.ragged if r.cells <= width]),
            ):
                if ragged:
                    rows = np.array([r.row for r in ragged], dtype=np.int64)
                    texts = pl.Series("old_value", [r.text for r in ragged], pl.String)
                    parts.append(_row_issues(rows, kind, texts))
                    counts[(kind.code, None)] += len(ragged)
        frames = [_collect_issues(parts), *self._cell_issues(staged, counts)]
        frame = pl.concat(frames, how="vertical").sort("row", maintain_order=True)
        return _to_issue_table(frame), +counts

    def _cell_issues(
        self, staged: pl.DataFrame, counts: Counter[tuple[str, str | None]]
    ) -> Iterator[pl.DataFrame]:
        """The cell-level issues, one frame per group of checks (a wide table has thousands):
        per group, the masks in one select (shared subexpressions such as a cell's number parse
        computed once), then one branch per mask that hit, gathered by one query. The group's
        masks are dropped before the next: one query of thousands of branches took far more
        than linear time to plan, and thousands of masks at once hundreds of MB. Adds each
        check's count to ``counts``."""
        for group in self._check_groups:
            masked = staged.select(*group.needed, *group.masks)
            sums = masked.select(group.sums).row(0)
            lazy = masked.lazy()
            branches: list[pl.LazyFrame] = []
            for k, hits, selection in zip(group.checks, sums, group.selections, strict=True):
                _, _, _, kind, column = self._check_list[k]
                counts[(kind.code, column)] += int(hits or 0)
                if hits:
                    branches.append(lazy.filter(pl.col(f"__m{k}")).select(*selection))
            if branches:
                yield _collect_issues(branches)

    def _groups(self) -> list[_CheckGroup]:
        """The checks in groups of ``BRANCHES_PER_QUERY``."""
        checks = self._check_list
        groups: list[_CheckGroup] = []
        for first in range(0, len(checks), BRANCHES_PER_QUERY):
            group = range(first, min(first + BRANCHES_PER_QUERY, len(checks)))
            masks = [
                (pl.col("__keep") & checks[k][0]).fill_null(value=False).alias(f"__m{k}")
                for k in group
            ]
            needed = {"__row"}  # only the columns this group reads
            for k in group:
                needed.update(name for name in checks[k][1:3] if name is not None)
            for mask in masks:
                needed.update(mask.meta.root_names())
            selections = []
            for k in group:
                _, old_name, new_name, kind, column = checks[k]
                selections.append(
                    (
                        pl.col("__row").cast(pl.Int64).alias("row"),
                        pl.lit(column, pl.String).alias("column"),
                        *_constants(kind),
                        _value(old_name).alias("old_value"),
                        _value(new_name).alias("new_value"),
                    )
                )
            groups.append(
                _CheckGroup(
                    checks=tuple(group),
                    masks=tuple(masks),
                    needed=tuple(sorted(needed)),
                    sums=tuple(pl.col(f"__m{k}").sum() for k in group),
                    selections=tuple(selections),
                )
            )
        return groups


def _sample_issue_rows(
    samples: dict[tuple[str, str | None], list[int]],
    issues: pa.Table,
    counts: Counter[tuple[str, str | None]],
    limit: int,
) -> None:
    """Add the first rows of each (code, column) of ``issues`` to ``samples`` until each has
    ``limit``; no work once every (code, column) of the chunk has its rows."""
    if all(len(samples.get(key, ())) >= limit for key in counts):
        return
    frame = pl.from_arrow(issues.select(["row", "code", "column"]))
    assert isinstance(frame, pl.DataFrame)
    firsts = frame.group_by(["code", "column"], maintain_order=True).agg(pl.col("row").head(limit))
    for code, column, rows in firsts.iter_rows():
        kept = samples.setdefault((code, column), [])
        kept.extend(rows[: limit - len(kept)])


def _collect_issues(parts: list[pl.LazyFrame]) -> pl.DataFrame:
    return pl.concat([p.select(_ISSUE_COLUMNS) for p in parts], how="vertical").collect(
        engine="in-memory"  # small frames: faster than the streaming engine
    )


def _value(column: str | None) -> pl.Expr:
    return pl.lit(None, pl.String) if column is None else pl.col(column)


def _constants(kind: IssueKind) -> tuple[pl.Expr, ...]:
    return (
        pl.lit(kind.code, pl.String).alias("code"),
        pl.lit(str(kind.severity), pl.String).alias("severity"),
        pl.lit(kind.action, pl.String).alias("action"),
    )


def _row_issues(
    rows: npt.NDArray[np.int64], kind: IssueKind, old: pl.Series | None
) -> pl.LazyFrame:
    frame = pl.DataFrame({"row": pl.Series("row", rows, pl.Int64)})
    if old is not None:
        frame = frame.with_columns(old.alias("old_value"))
    return frame.lazy().select(
        "row",
        pl.lit(None, pl.String).alias("column"),
        *_constants(kind),
        pl.col("old_value") if old is not None else pl.lit(None, pl.String).alias("old_value"),
        pl.lit(None, pl.String).alias("new_value"),
    )


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
