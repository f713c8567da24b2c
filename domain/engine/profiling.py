"""Pass 1: accumulate per-column and per-table statistics over the raw chunks.

Everything is vectorised per chunk (polars expressions over whole columns); the Python loops
run over columns and chunks only. Memory is bounded per column (distinct values up to a cap,
a fixed-size quantile sample, a KMV sketch) plus 8 bytes per distinct row for duplicates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from domain.engine import cells, patterns
from domain.engine.duplicates import DuplicateTracker
from domain.engine.options import EngineOptions
from domain.reading import RawChunk

_HASH_SEED = 0x5EED
_U64_MAX = float(np.iinfo(np.uint64).max)
_EMPTY_VALUES = pl.DataFrame(schema={"value": pl.String, "count": pl.UInt64})


@dataclass
class RowSample:
    """The first few row numbers of something (bounded)."""

    limit: int
    rows: list[int] = field(default_factory=list)

    @property
    def wanted(self) -> bool:
        return len(self.rows) < self.limit

    def add(self, rows: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> None:
        if self.wanted:
            self.rows.extend(int(r) for r in rows[mask][: self.limit - len(self.rows)])


@dataclass
class Extremes:
    """The ``limit`` largest (or smallest) numbers of a column with their row numbers; ties go
    to the earlier row, so the result does not depend on chunk boundaries."""

    limit: int
    largest: bool
    values: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def add(self, values: npt.NDArray[np.float64], rows: npt.NDArray[np.int64]) -> None:
        if values.size == 0 or self.limit <= 0:
            return
        keyed = -values if self.largest else values
        if keyed.size > self.limit:  # only values at or beyond the limit-th can stay
            bound = np.partition(keyed, self.limit - 1)[self.limit - 1]
            wanted = keyed <= bound
            values, rows, keyed = values[wanted], rows[wanted], keyed[wanted]
        merged_keys = np.concatenate([(-self.values if self.largest else self.values), keyed])
        merged_rows = np.concatenate([self.rows, rows])
        order = np.lexsort((merged_rows, merged_keys))[: self.limit]
        self.values = np.concatenate([self.values, values])[order]
        self.rows = merged_rows[order]

    def pairs(self) -> list[tuple[float, int]]:
        """(value, row), most extreme first."""
        return [(float(v), int(r)) for v, r in zip(self.values, self.rows, strict=True)]


@dataclass
class ColumnStats:
    """What pass 1 learned about one column."""

    position: int
    limit: int
    count: int = 0
    blank: int = 0  # empty cells
    sentinel: int = 0  # non-empty cells unified to null (sentinels, whitespace only)
    whitespace: int = 0  # non-null cells with leading/trailing whitespace
    formula: int = 0
    leading_zero: int = 0
    matches: dict[str, int] = field(default_factory=lambda: dict.fromkeys(patterns.CANDIDATES, 0))
    alive: set[str] = field(default_factory=lambda: set(patterns.CANDIDATES))
    numeric: int = 0  # finite numeric values (plain or formatted)
    fractional: int = 0  # numeric values that are not whole numbers
    # comma-formatted cells: lone groups ("1,500": thousands or a decimal comma?), groups that
    # can only be thousands ("1,234,567", "1,234.50"), and decimal commas ("2,5", "0,125")
    lone_groups: int = 0
    thousands_groups: int = 0
    decimal_commas: int = 0
    pivot: float | None = None
    sums: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    minimum: float = float("inf")
    maximum: float = float("-inf")
    sample: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    sample_stride: int = 1
    values: pl.DataFrame | None = field(
        default_factory=lambda: pl.DataFrame(schema={"value": pl.String, "count": pl.UInt64})
    )
    frozen_top: pl.DataFrame | None = None
    kmv: npt.NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    float_noise: int = 0  # numbers such as 3.2260000000000004 (binary floating-point residue)
    highest: Extremes = field(init=False)  # the largest numbers with their rows
    lowest: Extremes = field(init=False)  # the smallest numbers with their rows
    sentinel_rows: RowSample = field(init=False)
    whitespace_rows: RowSample = field(init=False)
    formula_rows: RowSample = field(init=False)
    missing_rows: RowSample = field(init=False)
    float_noise_rows: RowSample = field(init=False)
    # placeholder spellings seen (trimmed, non-blank) with their cells: placeholders.py
    # decides from the column's other values which of them mean missing
    tokens: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.highest = Extremes(self.limit, largest=True)
        self.lowest = Extremes(self.limit, largest=False)
        self.sentinel_rows = RowSample(self.limit)
        self.whitespace_rows = RowSample(self.limit)
        self.formula_rows = RowSample(self.limit)
        self.missing_rows = RowSample(self.limit)
        self.float_noise_rows = RowSample(self.limit)

    @property
    def missing(self) -> int:
        return self.blank + self.sentinel

    @property
    def non_null(self) -> int:
        return self.count - self.missing

    @property
    def exact_distinct(self) -> bool:
        return self.values is not None

    def distinct(self, kmv_size: int) -> int:
        if self.values is not None:
            return self.values.height
        if self.kmv.size < kmv_size:
            return int(self.kmv.size)
        return int((kmv_size - 1) / (float(self.kmv[-1]) / _U64_MAX))

    def top(self, n: int) -> list[tuple[str, int]]:
        table = self.values if self.values is not None else self.frozen_top
        if table is None or table.height == 0:
            return []
        best = table.sort(["count", "value"], descending=[True, False]).head(n)
        return [(str(v), int(c)) for v, c in best.iter_rows()]


@dataclass
class TableStats:
    rows: int = 0
    blank_rows: int = 0
    duplicate_rows: int = 0
    ragged_rows: int = 0
    ragged_too_many: int = 0
    ragged_too_few: int = 0
    blank_sample: RowSample = field(default_factory=lambda: RowSample(10))
    duplicate_sample: RowSample = field(default_factory=lambda: RowSample(10))
    ragged_sample: RowSample = field(default_factory=lambda: RowSample(10))
    # rows whose numeric candidate columns are all empty, by the set of those columns (positions
    # of the columns still possibly numeric and with some missing cell when the chunk was read)
    unmeasured: dict[tuple[int, ...], tuple[int, RowSample]] = field(default_factory=dict)


class Profiler:
    """Feed raw chunks with :meth:`add`; read :attr:`columns` and :attr:`table` at the end."""

    def __init__(self, column_count: int, options: EngineOptions, bytes_total: int) -> None:
        self._options = options
        self._names = [f"c{i}" for i in range(column_count)]
        # column-wise work runs on groups of columns: one select per group, so that a wide
        # table does not evaluate tens of thousands of expressions (and their buffers) at once
        self._groups = [
            self._names[i : i + COLUMN_GROUP] for i in range(0, column_count, COLUMN_GROUP)
        ]
        self._bytes_total = max(bytes_total, 1)
        self.columns = [ColumnStats(i, options.sample_rows) for i in range(column_count)]
        self.table = TableStats(
            blank_sample=RowSample(options.sample_rows),
            duplicate_sample=RowSample(options.sample_rows),
            ragged_sample=RowSample(options.sample_rows),
        )
        self._duplicates = DuplicateTracker()
        self._values = pl.DataFrame(
            schema={"column": pl.String, "value": pl.String, "count": pl.UInt64}
        )

    def add(self, chunk: RawChunk) -> None:
        raw = pl.from_arrow(chunk.table)
        assert isinstance(raw, pl.DataFrame)
        rows = chunk.rows
        sentinels = self._options.null_sentinels
        spellings = cells.sentinel_spellings(sentinels)
        trimmed = raw.select(cells.trimmed(c).alias(c) for c in self._names)
        norm = trimmed.select(cells.normalized(c, spellings).alias(c) for c in self._names)
        keep = self._add_table(chunk, norm, rows)
        if not keep.all():  # columns are profiled on the rows that are kept
            mask = pl.Series(keep)
            raw, norm, rows = raw.filter(mask), norm.filter(mask), rows[keep]
        for names in self._groups:
            counts = self._count(raw, norm, names)
            for name in names:
                stats = self._stats(name)
                self._add_counts(stats, counts, name)
                stats.count += raw.height
            self._add_masks(raw, norm, rows, names)
            self._add_numbers(norm, rows, names)
        self._add_values(norm)
        self._prune(chunk.bytes_done)
        self._add_unmeasured(norm, rows)

    def finish(self) -> None:
        """Hand each exactly-counted column its distinct values (call once, after the last
        chunk)."""
        by_column = self._values.partition_by("column", as_dict=True, include_key=False)
        for stats, name in zip(self.columns, self._names, strict=True):
            if stats.values is not None:
                stats.values = by_column.get((name,), _EMPTY_VALUES)

    def _add_table(
        self, chunk: RawChunk, norm: pl.DataFrame, rows: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """Count table-level problems; return the mask of rows that are neither blank nor
        duplicates."""
        table = self.table
        table.rows += norm.height
        for info in chunk.ragged:
            table.ragged_rows += 1
            if info.cells > len(self._names):
                table.ragged_too_many += 1
            else:
                table.ragged_too_few += 1
            if table.ragged_sample.wanted:
                table.ragged_sample.rows.append(info.row)
        blank = norm.select(pl.all_horizontal(pl.all().is_null())).to_series().to_numpy()
        table.blank_rows += int(blank.sum())
        table.blank_sample.add(rows, blank)
        hashes = hash_rows(norm)
        duplicate = self._duplicates.mark(hashes[~blank])
        table.duplicate_rows += int(duplicate.sum())
        table.duplicate_sample.add(rows[~blank], duplicate)
        keep = ~blank
        keep[~blank] = ~duplicate
        return keep

    def _add_unmeasured(self, norm: pl.DataFrame, rows: npt.NDArray[np.int64]) -> None:
        """Count the rows of the chunk whose numeric candidate columns are all empty. A column
        without a missing cell so far cannot be empty in any row of this chunk, so it is left
        out of the set; see :func:`count_unmeasured` for how the sets are read at the end."""
        measured = tuple(
            stats.position
            for stats in self.columns
            if stats.alive & {"decimal", "formatted"} and stats.missing
        )
        if len(measured) < 2 or len(measured) == len(self.columns) or norm.height == 0:
            return
        empty = (
            norm.select(pl.all_horizontal(pl.col(self._names[p]).is_null() for p in measured))
            .to_series()
            .to_numpy()
        )
        count, sample = self.table.unmeasured.get(
            measured, (0, RowSample(self._options.sample_rows))
        )
        sample.add(rows, empty)
        self.table.unmeasured[measured] = (count + int(empty.sum()), sample)

    def _stats(self, name: str) -> ColumnStats:
        return self.columns[int(name[1:])]  # the chunk column "c<i>" is column i

    def _count(self, raw: pl.DataFrame, norm: pl.DataFrame, names: list[str]) -> dict[str, int]:
        exprs: list[pl.Expr] = []
        for name in names:
            stats = self._stats(name)
            value = pl.col(name)
            exprs.append(value.is_null().sum().alias(f"{name}|null"))
            for candidate in stats.alive.intersection(patterns.REGEX_COUNTED):
                expr = value.str.contains(patterns.CANDIDATES[candidate])
                exprs.append(expr.sum().alias(f"{name}|{candidate}"))
        frame = norm.select(exprs)
        raw_exprs = [
            (pl.col(name).str.len_bytes() == 0).sum().alias(f"{name}|blank") for name in names
        ]
        blanks = raw.select(raw_exprs)
        merged = {**frame.row(0, named=True), **blanks.row(0, named=True)}
        return {key: int(value or 0) for key, value in merged.items()}

    def _add_counts(self, stats: ColumnStats, counts: dict[str, int], name: str) -> None:
        height = counts[f"{name}|null"]
        stats.blank += counts[f"{name}|blank"]
        stats.sentinel += height - counts[f"{name}|blank"]
        for candidate in stats.alive.intersection(patterns.REGEX_COUNTED):
            stats.matches[candidate] += counts[f"{name}|{candidate}"]

    def _add_masks(
        self, raw: pl.DataFrame, norm: pl.DataFrame, rows: npt.NDArray[np.int64], names: list[str]
    ) -> None:
        """Whitespace, sentinel and formula cells of the ``names`` columns in one select."""
        both = pl.concat(
            [raw.select(names), norm.select(pl.col(c).alias(f"n_{c}") for c in names)],
            how="horizontal",
        )
        exprs: list[pl.Expr] = []
        for name in names:
            value, clean = pl.col(name), pl.col(f"n_{name}")
            # the blank cells (placeholders have their own finding and rows)
            exprs.append((value.is_null() | (value.str.len_bytes() == 0)).alias(f"m|{name}"))
            exprs.append((clean.is_null() & (value.str.len_bytes() > 0)).alias(f"s|{name}"))
            exprs.append(
                (clean.is_not_null() & (value.str.len_bytes() != clean.str.len_bytes())).alias(
                    f"w|{name}"
                )
            )
            # only the first character here; the exact test runs below on the few matches
            exprs.append(
                clean.str.contains(patterns.FORMULA_START).fill_null(value=False).alias(f"f|{name}")
            )
        masks = both.select(exprs)
        sums = masks.sum().row(0, named=True)
        masks, sums = _refine_formula_masks(masks, sums, norm, names)
        for name in names:
            stats = self._stats(name)
            if sums[f"s|{name}"]:
                picked = raw.get_column(name).filter(masks.get_column(f"s|{name}"))
                counted = picked.str.strip_chars().value_counts()
                stats.tokens.update(dict(counted.iter_rows()))
            stats.whitespace += int(sums[f"w|{name}"] or 0)
            stats.formula += int(sums[f"f|{name}"] or 0)
            for key, sample in (
                ("m", stats.missing_rows),
                ("s", stats.sentinel_rows),
                ("w", stats.whitespace_rows),
                ("f", stats.formula_rows),
            ):
                if sums[f"{key}|{name}"] and sample.wanted:
                    sample.add(rows, masks.get_column(f"{key}|{name}").to_numpy())

    def _add_numbers(
        self, norm: pl.DataFrame, rows: npt.NDArray[np.int64], names: list[str]
    ) -> None:
        numeric = [
            (self._stats(name), name)
            for name in names
            if self._stats(name).alive & {"decimal", "formatted"}
        ]
        if not numeric:
            return
        # Plain numbers parse directly; only the few cells that do not are tried as
        # formatted numbers ("$1,234.50"), so the regular expressions see a small subset.
        frame = norm.select(cells.as_number(name).alias(name) for _, name in numeric)
        # the per-column counts in one select (a wide table has thousands of numeric columns)
        both = pl.concat(
            [frame, norm.select(pl.col(n).alias(f"n_{n}") for _, n in numeric)], how="horizontal"
        )
        tallies = both.select(
            expr
            for _, name in numeric
            for expr in _number_tallies(pl.col(name), pl.col(f"n_{name}"), name)
        ).row(0, named=True)
        for stats, name in numeric:
            direct = frame.get_column(name)
            stats.matches["decimal"] += int(tallies[f"{name}|parsed"] or 0)
            text = norm.get_column(name)
            if tallies[f"{name}|zero"]:
                zeros = text.filter(direct.is_not_null() & text.str.starts_with("0"))
                stats.leading_zero += int(zeros.str.contains(patterns.LEADING_ZERO).sum())
            if tallies[f"{name}|rest"]:
                rest = (direct.is_null() & text.is_not_null()).arg_true()
                number = cells.plain_number("v").cast(pl.Float64, strict=False)
                formatted = (
                    text.gather(rest)
                    .to_frame("v")
                    .select(
                        pl.when(
                            pl.col("v").str.contains(patterns.FORMATTED_NUMBER) & number.is_finite()
                        ).then(number)
                    )
                    .to_series()
                )
                stats.matches["formatted"] += formatted.count()
                self._add_commas(stats, text.gather(rest), formatted)
                # in row order, so the quantile sample does not depend on chunk boundaries
                direct = direct.clone().scatter(rest, formatted)
            self._add_float_noise(stats, text, rows)
            present = direct.is_not_null().to_numpy()
            values = direct.drop_nulls().to_numpy()
            self._add_number_values(stats, values)
            stats.highest.add(values, rows[present])
            stats.lowest.add(values, rows[present])

    @staticmethod
    def _add_commas(stats: ColumnStats, text: pl.Series, formatted: pl.Series) -> None:
        """Count the cells telling how this column writes commas (see ColumnStats); ``text``:
        the cells that are not plain numbers, ``formatted``: their values as formatted numbers."""
        value = pl.col("v")
        lone = value.str.contains(patterns.LONE_GROUP)
        counts = (
            pl.DataFrame({"v": text, "n": formatted})
            .select(
                lone.sum().alias("lone"),
                (pl.col("n").is_not_null() & value.str.contains(",", literal=True) & ~lone)
                .sum()
                .alias("thousands"),
                value.str.contains(patterns.DECIMAL_COMMA).sum().alias("decimal"),
            )
            .row(0)
        )
        stats.lone_groups += int(counts[0] or 0)
        stats.thousands_groups += int(counts[1] or 0)
        stats.decimal_commas += int(counts[2] or 0)

    @staticmethod
    def _add_float_noise(stats: ColumnStats, text: pl.Series, rows: npt.NDArray[np.int64]) -> None:
        """Numbers written with binary floating-point residue (``3.2260000000000004``): only
        the long cells meet the regular expression."""
        long = (text.str.len_bytes() >= patterns.FLOAT_NOISE_MIN_LENGTH).fill_null(value=False)
        if not long.any():
            return
        index = long.arg_true()
        hits = text.gather(index).str.contains(patterns.FLOAT_NOISE).fill_null(value=False)
        found = int(hits.sum())
        if found:
            stats.float_noise += found
            stats.float_noise_rows.add(rows[index.to_numpy()], hits.to_numpy())

    def _add_number_values(self, stats: ColumnStats, values: npt.NDArray[np.float64]) -> None:
        if values.size == 0:
            return
        if stats.pivot is None:
            stats.pivot = float(np.mean(values))
        shifted = values - stats.pivot
        squared = shifted * shifted  # products, not **3: numpy's pow is ~30x slower
        stats.sums += [shifted.sum(), squared.sum(), (squared * shifted).sum()]
        stats.fractional += int(np.count_nonzero(values != np.floor(values)))
        stats.minimum = min(stats.minimum, float(values.min()))
        stats.maximum = max(stats.maximum, float(values.max()))
        start = (-stats.numeric) % stats.sample_stride
        stats.sample = np.concatenate([stats.sample, values[start :: stats.sample_stride]])
        stats.numeric += int(values.size)
        while stats.sample.size > self._options.quantile_sample:
            stats.sample = stats.sample[::2]
            stats.sample_stride *= 2

    def _add_values(self, norm: pl.DataFrame) -> None:
        """Exact value counts of all columns still under ``distinct_cap`` in one long frame
        (column, value, count); columns passing the cap switch to a KMV sketch."""
        exact = [n for s, n in zip(self.columns, self._names, strict=True) if s.values is not None]
        if exact:
            counted = _count_values(norm, exact)
            self._values = (
                pl.concat([self._values, counted])
                .group_by(["column", "value"])
                .agg(pl.col("count").sum())
            )
            sizes = self._values.group_by("column").len()
            over = set(
                sizes.filter(pl.col("len") > self._options.distinct_cap).get_column("column")
            )
            for stats, name in zip(self.columns, self._names, strict=True):
                if name in over:
                    self._leave_exact(stats, name)
            if over:
                self._values = self._values.filter(~pl.col("column").is_in(list(over)))
        for stats, name in zip(self.columns, self._names, strict=True):
            if stats.values is None and name not in exact:
                self._add_sketch(stats, norm.get_column(name).drop_nulls())

    def _leave_exact(self, stats: ColumnStats, name: str) -> None:
        mine = self._values.filter(pl.col("column") == name).select("value", "count")
        stats.frozen_top = mine.sort(["count", "value"], descending=[True, False]).head(
            self._options.top_values
        )
        stats.values = None
        self._add_sketch(stats, mine.get_column("value"))

    def _add_sketch(self, stats: ColumnStats, present: pl.Series) -> None:
        hashes = present.hash(seed=_HASH_SEED).to_numpy()
        if stats.kmv.size >= self._options.kmv_size:  # only hashes below the k-th can matter
            hashes = hashes[hashes < stats.kmv[-1]]
        stats.kmv = np.unique(np.concatenate([stats.kmv, hashes]))[: self._options.kmv_size]

    def _prune(self, bytes_done: int) -> None:
        """Drop candidate types that can no longer reach ``type_fit_share`` of the non-null
        cells, judging the final count from the share of bytes read (with 50 % slack)."""
        share = min(1.0, max(bytes_done, 1) / self._bytes_total)
        tolerance = 1.0 - self._options.type_fit_share
        for stats in self.columns:
            expected_non_null = stats.non_null / share
            for candidate in list(stats.alive):
                misses = stats.non_null - stats.matches[candidate]
                if candidate in ("decimal", "formatted"):
                    misses = stats.non_null - stats.matches["decimal"] - stats.matches["formatted"]
                if candidate in ("date_iso", "date_other", "datetime"):
                    misses = stats.non_null - sum(
                        stats.matches[c] for c in ("date_iso", "date_other", "datetime")
                    )
                if misses > 1.5 * tolerance * expected_non_null:
                    stats.alive.discard(candidate)
            if not stats.alive & {"decimal", "formatted"}:
                stats.alive -= {"decimal", "formatted"}


def count_unmeasured(
    table: TableStats, measured: frozenset[int], limit: int
) -> tuple[int, list[int], bool]:
    """(rows, sample rows, exact) of the rows with no value in any ``measured`` column (the
    positions of the numeric columns that are not identifiers). A chunk whose set lacks one
    of them had a value there in every row (the column had no missing cell yet): it adds 0.
    A chunk whose set holds more columns adds the rows empty in all of them: a lower bound,
    so the count is then not exact."""
    count, rows, exact = 0, [], True
    for positions, (found, sample) in sorted(table.unmeasured.items()):
        if not measured.issubset(positions):
            continue
        if set(positions) != measured:
            exact = False
        count += found
        rows.extend(sample.rows)
    return count, sorted(rows)[:limit], exact


def _refine_formula_masks(
    masks: pl.DataFrame, sums: dict[str, Any], norm: pl.DataFrame, names: list[str]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Turn the "f|" masks (cells starting with = + - @) into formula risks: the number parse
    of cells.is_formula_risk runs on the matching cells only, not on every cell."""
    refined: list[pl.Series] = []
    for name in names:
        key = f"f|{name}"
        if not sums[key]:
            continue
        starts = masks.get_column(key)
        index = starts.arg_true()
        exact = (
            norm.get_column(name)
            .gather(index)
            .to_frame("v")
            .select(cells.is_formula_risk("v"))
            .to_series()
        )
        refined.append(starts.scatter(index, exact).alias(key))
        sums[key] = int(exact.sum())
    return (masks.with_columns(refined) if refined else masks), sums


def _number_tallies(number: pl.Expr, text: pl.Expr, name: str) -> tuple[pl.Expr, ...]:
    """Cells parsed as plain numbers, those among them starting with 0 (leading-zero code
    candidates), and the non-null cells left for the formatted-number test."""
    parsed = number.is_not_null()
    zero = parsed & text.str.starts_with("0") & (text.str.len_bytes() > 1)  # not "0" itself
    return (
        parsed.sum().alias(f"{name}|parsed"),
        zero.sum().alias(f"{name}|zero"),
        (~parsed & text.is_not_null()).sum().alias(f"{name}|rest"),
    )


COLUMN_GROUP = 512  # columns whose counts, masks and number tallies one select computes
WIDE = 64  # from this many columns on, value counts go through one unpivot


def _count_values(norm: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """(column, value, count) of the non-null cells of ``names``: one value_counts per column
    for ordinary tables, one unpivot + group_by for wide ones (fewer, larger operations)."""
    if len(names) >= WIDE:
        counted = (
            norm.select(names)
            .unpivot(variable_name="column", value_name="value")
            .drop_nulls("value")
            .group_by(["column", "value"])
            .len(name="count")
        )
    else:
        counted = pl.concat(
            [
                norm.get_column(name)
                .drop_nulls()
                .value_counts(name="count")
                .rename({name: "value"})
                .select(pl.lit(name).alias("column"), "value", "count")
                for name in names
            ]
        )
    return counted.with_columns(pl.col("count").cast(pl.UInt64))


def hash_rows(frame: pl.DataFrame) -> npt.NDArray[np.uint64]:
    """64-bit hash per row over all columns (nulls hash apart from empty strings)."""
    if frame.width == 0:
        return np.zeros(frame.height, dtype=np.uint64)
    return frame.hash_rows(seed=_HASH_SEED).to_numpy()
