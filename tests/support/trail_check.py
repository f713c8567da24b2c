"""Compare an input file with its cleaned CSV cell by cell against the row-level trail.

Every cell the cleaned CSV holds differently from the input, and every input row missing from
it, must be explained by the row-level issues: a chain of changes on that cell whose first old
value is the input cell and whose last new value is the output cell, or a row-level "dropped"
issue: a dropped blank row must hold nothing but placeholders (then listed as its old value),
a dropped duplicate must repeat an earlier kept row as read or as written (compared without
letter case, accents and extra spaces, placeholders as empty). :func:`find_unexplained_changes`
returns whatever is not explained (empty when the cleaning kept its word).

The input cells are the ones the engine's reader produced (encoding, delimiter and quoting as
sniffed); the output is the cleaned CSV as written by the download writer and parsed back with
Python's csv module, so the comparison covers cleaning and writing.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa

from domain.artifacts import MemorySink
from domain.downloads.csv_downloads import write_cleaned_csv
from domain.downloads.entries import cleaned_csv_spec
from domain.engine import Analysis, EngineOptions, analyze_input
from domain.engine.options import DEFAULT_NULL_SENTINELS
from domain.reading import read_chunks, sniff_source

FLAG_ACTIONS = frozenset({"flagged"})
ROW_DROPS = frozenset({"blank_row", "duplicate_row"})


@dataclass(frozen=True)
class Unexplained:
    row: int
    column: str | None
    input_value: str | None
    output_value: str | None
    reason: str


@dataclass(frozen=True)
class CleanedRun:
    """One analysis of a file: the input cells by row, the output rows, the row issues."""

    analysis: Analysis
    input_rows: dict[int, list[str | None]]
    output_header: list[str]
    output_rows: list[list[str]]
    issues: list[dict[str, object]]


def run_cleaning(path: Path, options: EngineOptions | None = None) -> CleanedRun:
    """Analyse ``path``, write its cleaned CSV in memory and read everything back."""
    analysis = analyze_input(path, options=options or EngineOptions())
    chunks = list(analysis.iter_cleaned())
    issues = pa.concat_tables([c.issues for c in chunks]).to_pylist() if chunks else []
    header = analysis.profile.cleaned_header
    written = write_cleaned_csv(
        cleaned_csv_spec("trail-check", path.name),
        header,
        (chunk.batch for chunk in chunks),
        MemorySink(),
    )
    assert written.content is not None
    parsed = list(csv.reader(io.StringIO(written.content.decode("utf-8"), newline="")))
    spec = replace(sniff_source(path), encoding=analysis.profile.source.encoding)
    input_rows: dict[int, list[str | None]] = {}
    for chunk in read_chunks(spec, 1 << 20):
        columns = [chunk.table.column(i).to_pylist() for i in range(chunk.table.num_columns)]
        for index, row in enumerate(chunk.rows.tolist()):
            input_rows[int(row)] = [column[index] for column in columns]
    return CleanedRun(analysis, input_rows, parsed[0] if parsed else [], parsed[1:], issues)


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


PLACEHOLDERS = frozenset(DEFAULT_NULL_SENTINELS)


def _fold(value: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", (value or "").strip().casefold())
    folded = " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())
    return "" if folded in PLACEHOLDERS else folded


def _loose(values: Sequence[str | None]) -> tuple[str, ...]:
    """The row without letter case, accents and extra spaces, placeholders as empty."""
    return tuple(_fold(v) for v in values)


def find_unexplained_changes(path: Path, options: EngineOptions | None = None) -> list[Unexplained]:
    """Every changed cell or dropped row of ``path``'s cleaning that the trail does not show
    with its true old and new value."""
    return check_run(run_cleaning(path, options))


def check_run(run: CleanedRun) -> list[Unexplained]:
    plan = run.analysis.plan
    problems: list[Unexplained] = []
    if run.output_header and run.output_header != list(plan.header):
        problems.append(Unexplained(0, None, None, None, "output header differs from the plan"))
    sources = [int(c.source[1:]) for c in plan.columns]
    dropped_columns = [int(name[1:]) for name in plan.dropped]
    dropped_names = dict(plan.dropped_placeholders)
    changes: dict[tuple[int, str], list[dict[str, object]]] = defaultdict(list)
    dropped_rows: dict[int, str] = {}
    dropped_texts: dict[int, object] = {}
    for issue in run.issues:
        row = int(str(issue["row"]))
        if issue["column"] is None:
            if issue["code"] in ROW_DROPS and issue["action"] == "dropped":
                dropped_rows[row] = str(issue["code"])
                dropped_texts[row] = issue["old_value"]
        elif issue["action"] not in FLAG_ACTIONS:
            changes[(row, str(issue["column"]))].append(issue)
    kept = [row for row in sorted(run.input_rows) if row not in dropped_rows]
    if len(kept) != len(run.output_rows):
        problems.append(
            Unexplained(
                0,
                None,
                str(len(kept)),
                str(len(run.output_rows)),
                "rows kept per the trail differ from rows written",
            )
        )
    seen: set[tuple[str, ...]] = set()  # earlier kept rows, as read and as written
    outputs = iter(run.output_rows)
    for row in sorted(run.input_rows):
        cells = run.input_rows[row]
        reason = dropped_rows.get(row)
        for index in dropped_columns:
            if reason is None and not _blank(cells[index]):
                name = dropped_names.get(f"c{index}", f"c{index}")
                problems.extend(
                    _check_cell(row, name, cells[index], "", changes.get((row, name), []))
                )
        if reason == "blank_row":
            held = ",".join(cell or "" for cell in cells)
            expected = None if all(_blank(cell) for cell in cells) else held
            if dropped_texts[row] != expected:
                problems.append(
                    Unexplained(row, None, held, None, "dropped row's values not in the trail")
                )
            continue
        key = _loose([cells[i] for i in sources])
        if reason == "duplicate_row":
            if key not in seen:
                problems.append(Unexplained(row, None, None, None, "dropped row repeats no row"))
            continue
        output = next(outputs, None)
        if output is None:
            break
        seen.update((key, _loose(output)))
        for position, column in enumerate(plan.columns):
            problems.extend(
                _check_cell(
                    row,
                    column.name,
                    cells[sources[position]],
                    output[position],
                    changes.get((row, column.name), []),
                )
            )
    return problems


def _check_cell(
    row: int,
    column: str,
    before: str | None,
    after: str,
    trail: list[dict[str, object]],
) -> list[Unexplained]:
    current = before
    for issue in trail:
        old, new = issue["old_value"], issue["new_value"]
        if old != current:
            return [Unexplained(row, column, before, after, f"trail old value {old!r} is wrong")]
        current = None if new is None else str(new)
    if (current or "") != after:
        return [Unexplained(row, column, before, after, "changed cell not in the trail")]
    return []
