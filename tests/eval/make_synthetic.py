"""Writes the synthetic files of the evaluation corpus (one per defect class). Deterministic:
run ``python -m tests.eval.make_synthetic`` to regenerate them byte for byte."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).parent / "synthetic"
Rows = Iterable[list[object]]


def _write(name: str, header: list[str], rows: Rows) -> None:
    with (HERE / name).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def skewed_money(rnd: random.Random) -> None:
    """Order amounts, log-normal: a long right tail that is no error."""
    rows = [
        [i, f"C{rnd.randint(1, 400):04d}", f"{math.exp(rnd.gauss(4, 1.1)):.2f}", rnd.randint(1, 9)]
        for i in range(1, 3001)
    ]
    _write("skewed_money.csv", ["order_id", "customer", "amount", "items"], rows)


def single_outlier(rnd: random.Random) -> None:
    """Heights in cm with one typing error (1750 for 175) in row 138."""
    rows: list[list[object]] = []
    for i in range(1, 601):
        height = 1750 if i == 137 else round(rnd.gauss(170, 9))
        rows.append([i, f"P{i}", height, round(rnd.gauss(70, 12), 1)])
    _write("single_outlier.csv", ["id", "name", "height_cm", "weight_kg"], rows)


def coordinates(rnd: random.Random) -> None:
    """Places around the world: coordinates and a skewed, two-humped altitude."""
    rows: list[list[object]] = []
    for i in range(1, 2001):
        if rnd.random() < 0.8:
            altitude = round(math.exp(rnd.gauss(4.5, 1.2)))
        else:
            altitude = rnd.randint(1500, 4400)
        lat = rnd.choice([rnd.uniform(35, 60), rnd.uniform(-40, -10), rnd.uniform(60, 78)])
        lon = rnd.choice([rnd.uniform(-125, -70), rnd.uniform(-10, 40), rnd.uniform(100, 179)])
        rows.append([f"Place {i}", f"{lat:.5f}", f"{lon:.5f}", altitude])
    _write("coordinates.csv", ["name", "latitude", "longitude", "altitude"], rows)


def bounded_scales(rnd: random.Random) -> None:
    """Shares, percentages and a 1-5 rating: bounded scales get no outlier check."""
    rows = [
        [
            i,
            f"{min(1.0, rnd.expovariate(30)):.4f}",
            f"{min(100.0, rnd.expovariate(0.2)):.1f}",
            rnd.choice([1, 2, 3, 4, 4, 5, 5, 5]),
        ]
        for i in range(1, 1501)
    ]
    _write("bounded_scales.csv", ["id", "click_share", "discount_pct", "rating"], rows)


def zip_codes(rnd: random.Random) -> None:
    """US ZIP codes read as integers: the north-east's codes lost their leading zero."""
    rows: list[list[object]] = []
    for i in range(1, 801):
        zip_code = rnd.randint(1001, 9999) if rnd.random() < 0.25 else rnd.randint(10001, 99950)
        rows.append([i, f"Shop {i}", zip_code, rnd.randint(1000, 99999)])
    _write("zip_codes.csv", ["id", "shop", "zip", "revenue"], rows)


def float_noise(rnd: random.Random) -> None:
    """Measurements printed from binary floats, some with their rounding residue."""
    noisy = {12: "3.2260000000000004", 40: "0.30000000000000004", 77: "1.0999999999999999"}
    rows = [[i, noisy.get(i, f"{rnd.uniform(0, 5):.3f}")] for i in range(1, 201)]
    _write("float_noise.csv", ["sample", "concentration"], rows)


def durations(rnd: random.Random) -> None:
    """Film runtimes written in three formats, and start times in two."""
    rows: list[list[object]] = []
    for i in range(1, 301):
        minutes = rnd.randint(15, 200)
        form = rnd.random()
        if form < 0.4:
            runtime = f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"
        elif form < 0.7:
            runtime = f"{max(1, round(minutes / 60))}h"
        else:
            runtime = f"{minutes}m"
        hour, minute = rnd.randint(10, 22), rnd.choice([0, 15, 30, 45])
        if rnd.random() < 0.7:
            start = f"{hour}:{minute:02d}"
        else:
            start = f"{(hour - 1) % 12 + 1}:{minute:02d} {'PM' if hour >= 12 else 'AM'}"
        rows.append([i, f"Film {i}", runtime, start, rnd.choice(["5m", "10m", "20m"])])
    _write("durations.csv", ["id", "title", "runtime", "start", "trailer_length"], rows)


def unmeasured_rows(rnd: random.Random) -> None:
    """Weather readings; rows 21, 56 and 90 name the station and day but hold no reading."""
    rows: list[list[object]] = []
    for i in range(1, 121):
        day = f"2024-03-{(i - 1) % 28 + 1:02d}"
        if i + 1 in (21, 56, 90):
            rows.append([f"S{i % 4}", day, "", "", ""])
            continue
        temp = "" if rnd.random() < 0.1 else f"{rnd.gauss(12, 4):.1f}"
        rain = "" if rnd.random() < 0.1 else f"{rnd.expovariate(1):.1f}"
        rows.append([f"S{i % 4}", day, temp, rain, f"{rnd.uniform(0, 12):.1f}"])
    _write("unmeasured_rows.csv", ["station", "day", "temp_c", "rain_mm", "wind_ms"], rows)


def optional_title(rnd: random.Random) -> None:
    """An original title filled only where it differs from the title; and a numeric column
    with real gaps recorded as NA."""
    words = ["Night", "River", "Glass", "Moon", "Winter", "City", "Song", "Road", "Fire"]
    rows: list[list[object]] = []
    for i in range(1, 401):
        title = f"The {rnd.choice(words)} {rnd.choice(words)} {i}"
        original = f"Le film {i}" if rnd.random() < 0.12 else ""
        budget = "NA" if rnd.random() < 0.6 else str(rnd.randint(1, 90) * 1_000_000)
        rows.append([i, title, original, budget])
    _write("optional_title.csv", ["id", "title", "original_title", "budget"], rows)


GENERATORS: tuple[Callable[[random.Random], None], ...] = (
    skewed_money,
    single_outlier,
    coordinates,
    bounded_scales,
    zip_codes,
    float_noise,
    durations,
    unmeasured_rows,
    optional_title,
)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for generate in GENERATORS:
        generate(random.Random(generate.__name__))


if __name__ == "__main__":
    main()
