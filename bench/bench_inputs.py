"""Engine alone on input shapes other than the dirty UTF-8 CSV: where the reader or the engine
could fall off a cliff.

    .venv/bin/python -m bench.bench_inputs [--mb 20] [--only NAME ...] [--workdir DIR]

Each shape is written once (deterministic) into the work directory, then analysed in a fresh
child process (pass 1 + one full pass 2, nothing written), which prints wall time, CPU time,
MB/s and its own peak RSS. The shapes:

- ``utf8``: the dirty CSV of bench/dirty_data.py (the reference);
- ``cp1252``: the same rows in cp1252 (decoded before pyarrow parses them);
- ``utf16``: the same rows in UTF-16 with a BOM;
- ``ragged``: 15 % of the records with too many or too few cells (each repaired);
- ``wide``: 10,000 numeric columns, 300 rows;
- ``categories``: 50 text columns of 300 distinct values each, 20,000 rows (close spellings
  are looked for among the 200 most frequent values of every such column);
- ``xlsx``: a 100,000-row workbook of 5 columns (python-calamine);
- ``xlsx-stream``: the same workbook through openpyxl's streaming reader (the path of
  workbooks above CALAMINE_MAX_SHEET_XML_BYTES).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.dirty_data import write_dirty_csv

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, resource, sys, time
from pathlib import Path
if sys.argv[2] == "stream":
    import domain.reading.xlsx as xlsx
    xlsx.CALAMINE_MAX_SHEET_XML_BYTES = -1
from domain.engine import analyze_input
started = time.perf_counter()
analysis = analyze_input(Path(sys.argv[1]))
issues = sum(chunk.issues.num_rows for chunk in analysis.iter_cleaned())
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "wall": time.perf_counter() - started,
    "cpu": usage.ru_utime + usage.ru_stime,
    "rss_mb": usage.ru_maxrss / 1024,
    "rows": analysis.profile.shape.rows_in,
    "issues": issues,
    "encoding": analysis.profile.source.encoding,
}))
"""


def _write_reencoded(source: Path, target: Path, encoding: str) -> None:
    target.write_bytes(source.read_text(encoding="utf-8").encode(encoding, errors="replace"))


def _write_ragged(target: Path, mb: int) -> None:
    rows = mb * 1_000_000 // 14
    with target.open("w", encoding="utf-8") as out:
        out.write("id,a,b,c\n")
        for i in range(rows):
            if i % 20 == 0:
                out.write(f"{i},a\n")  # too few cells
            elif i % 10 == 0:
                out.write(f"{i},a{i % 50},b,{i % 7},x,y\n")  # too many
            else:
                out.write(f"{i},a{i % 50},b,{i % 7}\n")


def _write_wide(target: Path) -> None:
    columns = 10_000
    with target.open("w", encoding="utf-8") as out:
        out.write(",".join(f"c{j}" for j in range(columns)) + "\n")
        for i in range(300):
            out.write(",".join(str((i * j) % 13) for j in range(columns)) + "\n")


def _write_categories(target: Path) -> None:
    rng = random.Random(2)
    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
    values = [f"{rng.choice(words)} {rng.choice(words)} {i}" for i in range(300)]
    with target.open("w", encoding="utf-8") as out:
        out.write(",".join(f"c{j}" for j in range(50)) + "\n")
        for _ in range(20_000):
            out.write(",".join(rng.choice(values) for _ in range(50)) + "\n")


def _write_xlsx(target: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(["id", "name", "amount", "city", "day"])
    start = dt.date(2024, 1, 1)
    for i in range(100_000):
        city = ("Oslo", "Bergen", " Oslo")[i % 3]
        day = start + dt.timedelta(days=i % 300)
        sheet.append([i, f"name {i % 300}", i * 1.5, city, day])
    workbook.save(target)


def _prepare(workdir: Path, mb: int) -> dict[str, tuple[Path, str]]:
    """name -> (input file, reader mode), each file written once."""
    base = workdir / f"utf8_{mb}mb.csv"
    makers: dict[str, tuple[Path, Callable[[Path], None], str]] = {
        "utf8": (base, lambda p: write_dirty_csv(p, mb * 1_000_000, seed=0), "default"),
        "cp1252": (
            workdir / f"cp1252_{mb}mb.csv",
            lambda p: _write_reencoded(base, p, "cp1252"),
            "default",
        ),
        "utf16": (
            workdir / f"utf16_{mb}mb.csv",
            lambda p: _write_reencoded(base, p, "utf-16"),
            "default",
        ),
        "ragged": (workdir / f"ragged_{mb}mb.csv", lambda p: _write_ragged(p, mb), "default"),
        "wide": (workdir / "wide_10000x300.csv", _write_wide, "default"),
        "categories": (workdir / "categories_50x300.csv", _write_categories, "default"),
        "xlsx": (workdir / "rows_100000.xlsx", _write_xlsx, "default"),
        "xlsx-stream": (workdir / "rows_100000.xlsx", _write_xlsx, "stream"),
    }
    prepared: dict[str, tuple[Path, str]] = {}
    for name, (path, make, mode) in makers.items():
        if name != "utf8" and not base.exists():
            makers["utf8"][1](base)
        if not path.exists():
            make(path)
        prepared[name] = (path, mode)
    return prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=20, help="size of the CSV shapes, MB")
    parser.add_argument("--only", nargs="*", help="shape names to run (default: all)")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cmd-bench-inputs"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    shapes = _prepare(args.workdir, args.mb)
    print("| shape | input | wall | CPU | MB/s | peak RSS | rows | row issues |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (path, mode) in shapes.items():
        if args.only and name not in args.only:
            continue
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), mode],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        size = path.stat().st_size / 1e6
        print(
            f"| {name} ({result['encoding']}) | {size:.1f} MB | {result['wall']:.2f} s | "
            f"{result['cpu']:.2f} s | {size / result['wall']:.1f} | {result['rss_mb']:.0f} MB | "
            f"{result['rows']:,} | {result['issues']:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
