"""Deterministic generator of dirty CSV files for benchmarks and tests.

``write_dirty_csv(path, target_bytes, seed)`` writes a comma-separated UTF-8 file of roughly
``target_bytes`` bytes (it stops at the first block boundary past the target). The same seed and
size always give the same bytes. The data carries the problems the engine looks for: whitespace
and case noise, null sentinels, thousands separators and currency signs, mixed date formats,
codes with leading zeros, spelling variants of one category, numeric outliers, formula-like
cells, quoted fields with embedded newlines, exact duplicate rows, blank rows and ragged rows.

Generation is vectorised (numpy + polars), one block of rows at a time, so a 1 GB file takes
seconds to minutes rather than hours and memory stays at one block.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl

BLOCK_ROWS = 20_000
HEADER = "id,customer_code,name,city,status,amount,quantity,order_date,email,notes\n"
_CITIES = np.array(
    [
        "New York",
        "new york",
        " New York",
        "NEW YORK",
        "Boston",
        "boston ",
        "Chicago",
        "Chicago",
        "Chicago",
        "San Francisco",
        "San  Francisco",
        "Seattle",
        "Seattle",
        "Austin",
    ]
)
_STATUSES = np.array(["active", "Active", "ACTIVE ", "inactive", "Inactive", "pending", "active"])
_NULLS = np.array(["", "NA", "N/A", "null", "-", "?", "\\N", "none"])
_FIRST = np.array(["Ann", "Bob", "Cleo", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo"])
_LAST = np.array(["Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson"])
_NOTES = np.array(
    [
        "",
        "ok",
        "call back",
        'said "hello"',
        "line one\nline two",
        "a, b and c",
        "=1+2",
        "@SUM(A1)",
        "+44 20 7946 0958",
        "-",
        "  padded  ",
        "déjà vu",
        "ok",
    ]
)


def _pick(rng: np.random.Generator, values: np.ndarray, n: int) -> np.ndarray:
    return values[rng.integers(0, len(values), n)]


def _sprinkle_nulls(rng: np.random.Generator, col: np.ndarray, share: float) -> np.ndarray:
    mask = rng.random(len(col)) < share
    out = col.astype(object)
    out[mask] = _pick(rng, _NULLS, int(mask.sum()))
    return out


def _block(rng: np.random.Generator, start_id: int, n: int) -> pl.DataFrame:
    ids = np.arange(start_id, start_id + n)
    codes = np.char.zfill(rng.integers(0, 100_000, n).astype(str), 6)
    names = np.char.add(np.char.add(_pick(rng, _FIRST, n), " "), _pick(rng, _LAST, n))
    pad = rng.random(n) < 0.05
    names = np.where(pad, np.char.add(np.char.add(" ", names), "  "), names)
    amounts = np.round(rng.lognormal(4.0, 1.0, n), 2)
    amount_txt = np.char.mod("%.2f", amounts)
    style = rng.random(n)
    big = amounts >= 1000
    thousands = np.array([f"{a:,.2f}" for a in amounts[big]]) if big.any() else np.array([])
    amount_txt = amount_txt.astype(object)
    if big.any():
        idx = np.flatnonzero(big)
        amount_txt[idx[style[idx] < 0.5]] = thousands[style[idx] < 0.5]
    cur = style < 0.03
    amount_txt[cur] = np.char.add("$", np.char.mod("%.2f", amounts[cur]))
    qty = rng.poisson(3, n)
    outlier = rng.random(n) < 0.002
    qty[outlier] = rng.integers(500, 5000, int(outlier.sum()))
    days = rng.integers(0, 3650, n)
    dates = np.datetime64("2015-01-01") + days.astype("timedelta64[D]")
    iso = np.datetime_as_string(dates, unit="D")
    alt = rng.random(n) < 0.04
    iso = iso.astype(object)
    if alt.any():  # day/month/year instead of ISO for a few rows
        parts = np.char.split(iso[alt].astype(str), "-")
        iso[alt] = np.array([f"{p[2]}/{p[1]}/{p[0]}" for p in parts])
    emails = np.char.add(
        np.char.add(np.char.lower(_pick(rng, _FIRST, n)), ids.astype(str)), "@example.com"
    )
    frame = pl.DataFrame(
        {
            "id": ids.astype(str),
            "customer_code": codes,
            "name": _sprinkle_nulls(rng, names, 0.01).astype(str),
            "city": _sprinkle_nulls(rng, _pick(rng, _CITIES, n), 0.03).astype(str),
            "status": _pick(rng, _STATUSES, n),
            "amount": _sprinkle_nulls(rng, amount_txt, 0.02).astype(str),
            "quantity": qty.astype(str),
            "order_date": np.asarray(iso, dtype=str),
            "email": _sprinkle_nulls(rng, emails, 0.02).astype(str),
            "notes": _pick(rng, _NOTES, n),
        }
    )
    dup = rng.integers(0, n, max(1, n // 100))  # ~1 % exact duplicates within the block
    return pl.concat([frame, frame[dup]]).sample(
        fraction=1.0, shuffle=True, seed=int(rng.integers(2**31))
    )


def write_dirty_csv(path: Path, target_bytes: int, seed: int = 0) -> None:
    """Write a deterministic dirty CSV of about ``target_bytes`` bytes to ``path``."""
    rng = np.random.default_rng(seed)
    written = 0
    next_id = 1
    with path.open("wb") as out:
        head = HEADER.encode()
        out.write(head)
        written += len(head)
        while written < target_bytes:
            buf = io.BytesIO()
            _block(rng, next_id, BLOCK_ROWS).write_csv(buf, include_header=False)
            next_id += BLOCK_ROWS
            # Raw-text dirt that a data frame cannot hold: blank and ragged rows.
            extra = b"\n,,,,,,,,,\n" + f"{next_id},000001,Short Row\n".encode()
            chunk = buf.getvalue() + extra
            out.write(chunk)
            written += len(chunk)
