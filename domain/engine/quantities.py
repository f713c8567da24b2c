"""One quantity written in several formats: durations (``2h``, ``1h 40m``, ``21m``, ``1:40``)
or times of day (``14:30``, ``2:30 PM``). Judged on a text column's distinct values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

_UNIT_H = r"\s*h(?:ours?|rs?|r)?"
_UNIT_M = r"\s*m(?:in(?:utes?|s)?)?"
_UNIT_S = r"\s*s(?:ec(?:onds?|s)?)?"
FORMATS: Final = {
    "duration": {
        "hours_minutes": rf"^(?i)\d+{_UNIT_H}\s*\d+{_UNIT_M}$",
        "hours": rf"^(?i)\d+(?:\.\d+)?{_UNIT_H}$",
        "minutes": rf"^(?i)\d+(?:\.\d+)?{_UNIT_M}$",
        "seconds": rf"^(?i)\d+(?:\.\d+)?{_UNIT_S}$",
        "iso_8601": r"^PT(?:\d+H)?(?:\d+M)?(?:\d+S)?$",
    },
    "time_of_day": {
        "24_hour": r"^(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?$",
        "12_hour": r"^(?i)(?:0?[1-9]|1[0-2])(?::[0-5]\d)?(?::[0-5]\d)?\s*[ap]\.?\s?m\.?$",
    },
}


@dataclass(frozen=True)
class MixedFormats:
    quantity: str  # "duration" | "time_of_day"
    cells: dict[str, int]  # format -> cells
    examples: dict[str, str]  # format -> a value written that way

    @property
    def minority(self) -> int:
        return sum(self.cells.values()) - max(self.cells.values())


def find_mixed_formats(
    values: pl.DataFrame, non_null: int, fit_share: float
) -> MixedFormats | None:
    """``values`` is the column's (value, count) table. A quantity whose formats cover at
    least ``fit_share`` of the non-null cells, in two formats or more."""
    if values.height == 0 or non_null == 0:
        return None
    for quantity, formats in FORMATS.items():
        tagged = values.select(
            pl.col("value"),
            pl.col("count"),
            *(pl.col("value").str.contains(p).alias(f) for f, p in formats.items()),
        )
        cells: dict[str, int] = {}
        examples: dict[str, str] = {}
        claimed = pl.lit(value=False)
        for fmt in formats:
            mine = tagged.filter(pl.col(fmt) & ~claimed)
            claimed = claimed | pl.col(fmt)
            if mine.height:
                cells[fmt] = int(mine.get_column("count").sum())
                examples[fmt] = str(mine.sort(["count", "value"], descending=[True, False])[0, 0])
        if sum(cells.values()) >= fit_share * non_null and len(cells) > 1:
            return MixedFormats(quantity, cells, examples)
    return None
