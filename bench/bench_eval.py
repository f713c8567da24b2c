"""Evaluation corpus (tests/eval): precision and recall per check, and changed cells the
row-level trail does not show.

    .venv/bin/python bench/bench_eval.py

For every labelled file (tests/eval/labels.json) the engine runs both passes. A "must" label
found is a true positive, missed a false negative; a "must not" label found is a false
positive. Precision = TP / (TP + FP), recall = TP / (TP + FN), per finding code.

Then the input and the cleaned output are compared cell by cell: a cell whose cleaned value
differs from its input value without a row-level issue that changed it (any action but
"flagged") on that row and column counts as an untracked change. Dropped rows must be in the
trail as dropped. The script exits 1 when any change is untracked.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.engine import Analysis, analyze_input
from tests.eval.corpus import Case, load_cases


def _input_rows(analysis: Analysis, path: Path) -> dict[int, list[str]]:
    """Records by row number (header = row 1), as the CSV holds them."""
    source = analysis.profile.source
    with path.open(encoding=source.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter or ",")
        return {number: record for number, record in enumerate(reader, start=1) if number > 1}


def untracked_changes(analysis: Analysis, path: Path) -> tuple[int, int]:
    """(cells compared, cells changed without a trail entry) for one CSV input."""
    records = _input_rows(analysis, path)
    cleaned: list[dict[str, str | None]] = []
    changed: set[tuple[int, str | None]] = set()
    dropped: set[int] = set()
    for chunk in analysis.iter_cleaned():
        cleaned.extend(chunk.batch.to_pylist())
        for issue in chunk.issues.to_pylist():
            if issue["action"] == "dropped" and issue["column"] is None:
                dropped.add(issue["row"])
            elif issue["action"] != "flagged":
                changed.add((issue["row"], issue["column"]))
    kept = [number for number in sorted(records) if number not in dropped and records[number]]
    blank_records = {n for n, r in records.items() if not r}  # csv yields [] for empty lines
    untracked = len(blank_records - dropped)  # an empty line must be dropped in the trail
    if len(kept) != len(cleaned):
        raise SystemExit(f"{path.name}: {len(kept)} rows kept by the trail, {len(cleaned)} out")
    compared = 0
    for number, row in zip(kept, cleaned, strict=True):
        raw = records[number]
        for column in analysis.plan.columns:
            position = int(column.source[1:])
            before = raw[position] if position < len(raw) else ""
            after = row[column.name] or ""
            compared += 1
            if before != after and (number, column.name) not in changed:
                untracked += 1
    return compared, untracked


def evaluate(cases: list[Case]) -> int:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    untracked_total = 0
    print(f"{'file':28} {'cells':>8} {'untracked':>9}  misses")
    for case in cases:
        analysis = analyze_input(case.path)
        compared, untracked = untracked_changes(analysis, case.path)
        profile = analysis.profile
        misses: list[str] = []
        for label in case.must:
            if label.matches(profile):
                tp[label.code] += 1
            else:
                fn[label.code] += 1
                misses.append(f"missed {label.describe()}")
        for label in case.must_not:
            if label.matches(profile):
                fp[label.code] += 1
                misses.append(f"wrong {label.describe()}")
        untracked_total += untracked
        name = f"{case.path.parent.name}/{case.path.name}"
        print(f"{name:28} {compared:>8} {untracked:>9}  {'; '.join(misses)}")
    print()
    print(f"{'check':28} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}")
    for code in sorted(set(tp) | set(fp) | set(fn)):
        precision = tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else float("nan")
        recall = tp[code] / (tp[code] + fn[code]) if tp[code] + fn[code] else float("nan")
        print(
            f"{code:28} {tp[code]:>4} {fp[code]:>4} {fn[code]:>4} {precision:>10.2f} {recall:>8.2f}"
        )
    print(f"\nchanged cells not in the trail: {untracked_total}")
    return 1 if untracked_total else 0


def main() -> None:
    raise SystemExit(evaluate(list(load_cases())))


if __name__ == "__main__":
    main()
