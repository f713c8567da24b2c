"""Cell-level polars expressions shared by both passes: trimming, null sentinels, numbers."""

from __future__ import annotations

import itertools
from functools import lru_cache

import polars as pl

from domain.engine import patterns

SHORT_SENTINEL = 4  # sentinels up to this length match in every letter case


@lru_cache(maxsize=8)
def sentinel_spellings(sentinels: tuple[str, ...]) -> tuple[str, ...]:
    """Every letter-case spelling of the short sentinels (``na``, ``NA``, ``Na``, ``nA``) and
    the lower, upper and title case of longer ones: a hash lookup then replaces lower-casing
    every cell."""
    spellings: set[str] = set()
    for sentinel in sentinels:
        if len(sentinel) <= SHORT_SENTINEL:
            options = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in sentinel]
            spellings.update("".join(p) for p in itertools.product(*options))
        else:
            spellings.update({sentinel, sentinel.upper(), sentinel.title()})
    return tuple(sorted(spellings))


def trimmed(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars()


def normalized(column: str, spellings: tuple[str, ...]) -> pl.Expr:
    """Null where the (already trimmed) cell is blank or a sentinel spelling, else the cell."""
    return pl.when(pl.col(column).is_in(spellings)).then(None).otherwise(pl.col(column))


def plain_number(column: str) -> pl.Expr:
    """A formatted number ("$1,234.50") without its formatting ("1234.50")."""
    return pl.col(column).str.replace_all(patterns.FORMATTING_CHARS, "")


def _expr(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def as_number(column: str | pl.Expr) -> pl.Expr:
    """The cell as a finite float, null when it is not a plain number. Polars' parser accepts
    what patterns.DECIMAL describes (sign, decimals, exponent); inf and NaN are excluded."""
    number = _expr(column).cast(pl.Float64, strict=False)
    return pl.when(number.is_finite()).then(number)


def is_formula_risk(column: str | pl.Expr) -> pl.Expr:
    """Starts with = + - @ and is not a number (spreadsheets would evaluate it)."""
    value = _expr(column)
    starts = (
        value.str.starts_with("=")
        | value.str.starts_with("+")
        | value.str.starts_with("-")
        | value.str.starts_with("@")
    )
    return (starts & as_number(value).is_null()).fill_null(value=False)


def neutralised(column: str | pl.Expr) -> pl.Expr:
    """The cell with a leading apostrophe where it is a formula risk, else the cell."""
    value = _expr(column)
    return pl.when(is_formula_risk(value)).then(pl.lit("'") + value).otherwise(value)
