"""Codes that lost their leading zeros: a code column (ZIP, postal code, FIPS...) read as
integers somewhere upstream, so ``02134`` became ``2134``. Reported with a suggested fix
(left-pad with zeros to the column's width); never applied."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from domain.engine.profiling import ColumnStats

_CODE_NAME = re.compile(
    r"(?:zip|postal|postcode|post_code|plz|fips|cep|code|codes)(?:$|[^a-z])", re.IGNORECASE
)
MIN_WIDTH = 3  # codes shorter than this are not judged
MIN_FULL_SHARE = 0.5  # at least this share of the values has the full width


@dataclass(frozen=True)
class LostZeros:
    width: int  # digits of the full-width codes
    count: int  # values shorter than the width (estimated from the quantile sample)
    examples: tuple[tuple[float, int], ...]  # (value, row) of short values


def find_lost_leading_zeros(name: str, stats: ColumnStats, kind: str) -> LostZeros | None:
    """The short values of an integer column named like a code whose values mostly have one
    width; None when the column does not look like that."""
    if kind != "integer" or not _CODE_NAME.search(name) or stats.minimum < 1:
        return None
    sample = stats.sample
    if sample.size == 0 or stats.maximum >= 1e12:
        return None
    width = len(str(int(stats.maximum)))
    if width < MIN_WIDTH:
        return None
    digits = np.floor(np.log10(sample)).astype(np.int64) + 1
    full = int(np.count_nonzero(digits == width))
    short = int(np.count_nonzero(digits < width))
    if short == 0 or full < MIN_FULL_SHARE * sample.size:
        return None
    bound = 10 ** (width - 1)
    examples = tuple((v, r) for v, r in stats.lowest.pairs() if v < bound)
    count = max(round(short * stats.numeric / sample.size), len(examples))
    return LostZeros(width=width, count=count, examples=examples)
