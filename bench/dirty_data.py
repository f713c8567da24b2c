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


# --- the "export" profile: dirty the way real exports are -------------------------------------
#
# ``write_export_csv(path, target_bytes, seed)`` writes a semicolon-separated UTF-8 file with
# decimal commas (``1.234,56``), where most rows hold two to four cells the engine changes:
# padded or case-varied text, null tokens, amounts with a currency sign, dates in one of four
# formats (ISO, ``dd.mm.yyyy``, ``dd/mm/yyyy``, ``yyyymmdd``), spelling variants of one
# category. Same seed and size, same bytes.

EXPORT_HEADER = (
    "Kunden-Nr;Name;Stadt;Status;Betrag;Menge;Rabatt;Bestelldatum;Lieferdatum;E-Mail;Kanal\n"
)
_EXPORT_CITIES = np.array(["Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Essen"])
_EXPORT_STATUS = np.array(["offen", "bezahlt", "storniert", "geliefert"])
_EXPORT_CHANNELS = np.array(["Online", "Filiale", "Telefon", "Partner"])
_EXPORT_NULLS = np.array(["", "NULL", "n/a", "-", "#N/A", "none", "NA"])


def _case_noise(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Upper-case, lower-case or pad ``share`` of the values."""
    out = values.astype(object)
    pick = rng.random(len(values))
    upper = pick < share / 3
    lower = (pick >= share / 3) & (pick < 2 * share / 3)
    padded = (pick >= 2 * share / 3) & (pick < share)
    out[upper] = np.char.upper(values[upper].astype(str))
    out[lower] = np.char.lower(values[lower].astype(str))
    out[padded] = np.char.add(np.char.add(" ", values[padded].astype(str)), "  ")
    return out


def _decimal_comma(amounts: np.ndarray, thousands: np.ndarray) -> np.ndarray:
    """``1234.5`` as ``1234,50``, or ``1.234,50`` where ``thousands``."""
    plain = np.char.replace(np.char.mod("%.2f", amounts), ".", ",")
    grouped = np.array([f"{a:,.2f}".replace(",", " ").replace(".", ",") for a in amounts])
    grouped = np.char.replace(grouped, " ", ".")
    return np.where(thousands, grouped, plain)


def _mixed_dates(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    dates = np.datetime64("2018-01-01") + days.astype("timedelta64[D]")
    iso = np.datetime_as_string(dates, unit="D")
    year, month, day = (
        iso.astype("U4"),
        np.char.ljust(np.char.partition(iso, "-")[:, 2], 5).astype("U2"),
        np.char.rpartition(iso, "-")[:, 2],
    )
    style = rng.integers(0, 4, len(days))
    dotted = np.char.add(np.char.add(np.char.add(np.char.add(day, "."), month), "."), year)
    slashed = np.char.add(np.char.add(np.char.add(np.char.add(day, "/"), month), "/"), year)
    compact = np.char.add(np.char.add(year, month), day)
    return np.select([style == 0, style == 1, style == 2], [iso, dotted, slashed], compact)


def _export_block(rng: np.random.Generator, start_id: int, n: int) -> pl.DataFrame:
    ids = np.char.zfill(np.arange(start_id, start_id + n).astype(str), 8)
    names = np.char.add(np.char.add(_pick(rng, _FIRST, n), " "), _pick(rng, _LAST, n))
    amounts = np.round(rng.lognormal(4.5, 1.2, n), 2)
    amount_txt = _decimal_comma(amounts, amounts >= 1000).astype(object)
    euro = rng.random(n) < 0.1
    amount_txt[euro] = np.char.add(amount_txt[euro].astype(str), " €")
    discount = np.char.replace(np.char.mod("%.1f", rng.random(n) * 30), ".", ",")
    emails = np.char.add(
        np.char.add(np.char.lower(_pick(rng, _FIRST, n)), ids), "@example.de"
    ).astype(object)
    upper_mail = rng.random(n) < 0.15
    emails[upper_mail] = np.char.upper(emails[upper_mail].astype(str))
    return pl.DataFrame(
        {
            "Kunden-Nr": ids,
            "Name": _sprinkle_nulls_from(rng, _case_noise(rng, names, 0.2), 0.03).astype(str),
            "Stadt": _sprinkle_nulls_from(
                rng, _case_noise(rng, _pick(rng, _EXPORT_CITIES, n), 0.5), 0.05
            ).astype(str),
            "Status": _case_noise(rng, _pick(rng, _EXPORT_STATUS, n), 0.6).astype(str),
            "Betrag": _sprinkle_nulls_from(rng, amount_txt, 0.04).astype(str),
            "Menge": rng.poisson(4, n).astype(str),
            "Rabatt": _sprinkle_nulls_from(rng, discount.astype(object), 0.3).astype(str),
            "Bestelldatum": _mixed_dates(rng, rng.integers(0, 2500, n)),
            "Lieferdatum": _sprinkle_nulls_from(
                rng, _mixed_dates(rng, rng.integers(0, 2500, n)).astype(object), 0.2
            ).astype(str),
            "E-Mail": _sprinkle_nulls_from(rng, emails, 0.05).astype(str),
            "Kanal": _case_noise(rng, _pick(rng, _EXPORT_CHANNELS, n), 0.3).astype(str),
        }
    )


def _sprinkle_nulls_from(rng: np.random.Generator, col: np.ndarray, share: float) -> np.ndarray:
    mask = rng.random(len(col)) < share
    out = col.astype(object)
    out[mask] = _pick(rng, _EXPORT_NULLS, int(mask.sum()))
    return out


def write_export_csv(path: Path, target_bytes: int, seed: int = 0) -> None:
    """Write a deterministic semicolon-separated export of about ``target_bytes`` bytes."""
    rng = np.random.default_rng(seed)
    written = 0
    next_id = 1
    with path.open("wb") as out:
        head = EXPORT_HEADER.encode()
        out.write(head)
        written += len(head)
        while written < target_bytes:
            buf = io.BytesIO()
            block = _export_block(rng, next_id, BLOCK_ROWS)
            block.write_csv(buf, include_header=False, separator=";", quote_style="necessary")
            next_id += BLOCK_ROWS
            chunk = buf.getvalue()
            out.write(chunk)
            written += len(chunk)
