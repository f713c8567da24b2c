"""Cleaned cells as the spreadsheet values of their column's inferred type.

Integer and decimal columns give numbers, date and datetime columns give dates where the cell
is in ISO form (other day/month orders stay text: they are ambiguous); every other cell (codes
with leading zeros, text, booleans, cells that do not fit the column's type) stays the string
it is. Numbers a double would change (integers of more than 15 digits, decimals of more than 15
significant digits that are not a double's shortest form) stay text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Final

_INTEGER: Final = re.compile(r"[+-]?\d{1,15}")
_DECIMAL: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?")
MAX_DIGITS: Final = 15

Cell = str | int | float | date | datetime | None


def _integer(value: str) -> Cell:
    return int(value) if _INTEGER.fullmatch(value) else value


def _decimal(value: str) -> Cell:
    if not _DECIMAL.fullmatch(value):
        return value
    number = float(value)
    if not math.isfinite(number):
        return value
    mantissa = value.lower().split("e")[0]
    digits = len(mantissa.lstrip("+-").replace(".", "").lstrip("0"))
    # beyond 15 digits only the shortest form of a double is kept as it is
    return number if digits <= MAX_DIGITS or repr(number) == value else value


def _date(value: str) -> Cell:
    if not _ISO_DATE.fullmatch(value):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value


def _datetime(value: str) -> Cell:
    if _ISO_DATE.fullmatch(value):
        return _date(value)
    if not _ISO_DATETIME.fullmatch(value):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


_CONVERTERS: Final[dict[str, Callable[[str], Cell]]] = {
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "datetime": _datetime,
}


def typed_values(values: Sequence[str | None], inferred_type: str) -> list[Cell]:
    """``values`` (cleaned strings of one column) as typed spreadsheet values."""
    convert = _CONVERTERS.get(inferred_type)
    if convert is None:
        return list(values)
    return [None if value is None else convert(value) for value in values]
