"""Engine thresholds and limits, each with its documented default (docs/design/analysis.md)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NULL_SENTINELS: tuple[str, ...] = (
    "",
    "na",
    "n/a",
    "n.a.",
    "nan",
    "null",
    "none",
    "nil",
    "\\n",  # the lower-cased form of \N (MySQL's NULL in dumps)
    "-",
    "--",
    "?",
    "#n/a",
    "missing",
)


@dataclass(frozen=True)
class EngineOptions:
    """Tuning knobs. Sentinels are compared after trimming and lower-casing."""

    block_size: int = 2 << 20  # bytes of CSV parsed per chunk (peak RSS grows with it)
    # pass 1 profiles consecutive chunks together up to this many cells (rows x columns): fewer,
    # larger polars queries (2 MiB of the benchmark's CSV is ~235,000 cells, so two chunks go
    # together; pass 1 is ~20 % faster), while its working set, which grows with the cells,
    # stays below pass 2's; chunks of short records or of wide tables stay alone (CSV only)
    profile_cells: int = 400_000
    null_sentinels: tuple[str, ...] = DEFAULT_NULL_SENTINELS
    type_fit_share: float = 0.95  # share of non-null cells that must fit a type to infer it
    missing_low_share: float = 0.0  # above this: low severity "missing_values"
    missing_medium_share: float = 0.2  # at or above: medium
    missing_high_share: float = 0.5  # at or above: high
    id_unique_share: float = 0.99  # distinct/non-null at or above (and no missing): ID-like
    id_min_rows: int = 20  # fewer non-null cells than this: never called ID-like
    # outliers (domain/engine/outliers.py): beyond k robust standard deviations (double MAD)
    # from the median, on a log scale for right-skewed non-negative columns; none reported
    # where more than outlier_max_share of the column lies beyond, or with fewer distinct
    # values than outlier_min_distinct
    outlier_mad_k: float = 3.5
    outlier_max_share: float = 0.01
    outlier_min_distinct: int = 20
    outlier_min_values: int = 20
    skew_threshold: float = 1.0  # |sample skewness| above this: "skewed_distribution"
    quantile_sample: int = 100_000  # numeric values kept per column for quartiles
    distinct_cap: int = 10_000  # exact distinct counting up to this, then a KMV estimate
    kmv_size: int = 4_096  # k of the k-minimum-values distinct estimator
    category_max_distinct: int = 1_000  # clustering only in columns with at most this many values
    category_max_share: float = 0.5  # ... and distinct/non-null at most this
    edit_distance_max: int = 2  # close spellings (recommendations only)
    edit_distance_values: int = 200  # most frequent values compared pairwise per column
    # a close spelling is suggested only beside a value at least this many times as frequent
    edit_distance_ratio: float = 10.0
    top_values: int = 10  # top values reported per column
    sample_rows: int = 10  # row numbers kept per finding
    max_columns: int = 20_000  # wider inputs are refused
    formula_cells: str = "keep"  # one of domain.choices.FORMULA_CHOICES
    duplicates: str = "auto"  # one of domain.choices.DUPLICATE_CHOICES
