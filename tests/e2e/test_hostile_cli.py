"""Hostile input through the real ``clean-my-data analyze`` (MariaDB, staging, then the relay).

- The engine's hostile corpus (``tests/hostile/cases.py``): each run ends with a clear
  one-line error and nothing staged or committed, or with a report whose workbook is
  well-formed XML; never a traceback, a hang or a file written outside the staging directory
  (the working directory, TMPDIR and the input's directory stay as they were).
- Hostile file names (``../``, unicode, control characters, 2,000-character paths) and analysis
  ids (slashes, ``..``, too long): refused in one line, or stored under a sanitised key inside
  the configured prefix.
- Cells starting with ``= + - @``, as stored in S3: the xlsx holds them as text cells (never a
  formula, value unchanged); the CSV holds them exactly by default and neutralised (leading
  apostrophe) with ``FORMULA_CELLS=neutralise``; header names are cleaned either way.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.downloads.entries import ARTIFACT_KINDS
from domain.model import ArtifactFormat
from outbox.keys import MAX_KEY_LENGTH
from tests.e2e.harness import CLI, EXAMPLE, PREFIX, Harness, build_harness, non_log_lines
from tests.hostile.cases import CASES, FILES, HostileCase
from tests.support.seaweed import S3Server
from tests.support.workbooks import malformed_parts

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

CASE_TIMEOUT_SECONDS = 180  # a hang is a failure, reported by name
EXTENSIONS = "|".join(f.value for f in ArtifactFormat)
STAGED_NAME = re.compile(rf"[0-9a-f-]{{36}}\.[0-9a-f]{{12}}\.({EXTENSIONS})")
KINDS = len(ARTIFACT_KINDS)
SAFE_KEY = re.compile(r"[a-z0-9._/-]+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@pytest.fixture
def harness(tmp_path: Path, mysql_url: str, s3_server: S3Server, s3_bucket: str) -> Harness:
    return build_harness(tmp_path / "main", mysql_url, s3_server, s3_bucket)


def listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def count_rows(harness: Harness, analysis_id: str) -> tuple[int, int, int]:
    counts = []
    for table in ("analysis_reports", "downloads", "outbox"):
        rows = harness.query(
            f"SELECT COUNT(*) AS n FROM {table} WHERE analysis_id = :id", id=analysis_id
        )
        counts.append(int(rows[0]["n"]))
    return counts[0], counts[1], counts[2]


def run_analyze(
    base: Harness, root: Path, source: Path, analysis_id: str
) -> tuple[subprocess.CompletedProcess[str] | None, Harness]:
    """Analyse ``source`` as its own "tenant": private staging, working directory and TMPDIR
    (sharing the database and bucket). None when it did not finish in time."""
    case = Harness(root, base.database_url, base.s3, base.bucket)
    for folder in (case.staging, root / "work", root / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            [str(CLI), "analyze", str(source), "--analysis-id", analysis_id],
            cwd=root / "work",
            env=case.env(TMPDIR=str(root / "tmp")),
            capture_output=True,
            text=True,
            timeout=CASE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, case
    return result, case


def check_case(base: Harness, root: Path, index: int, case: HostileCase) -> list[str]:
    """Run one corpus case; returns what went wrong (empty when all is well)."""
    inputs = root / "input"
    inputs.mkdir(parents=True)
    source = case.materialize(inputs)
    inputs_before = listing(inputs)
    analysis_id = f"hostile-{index}"
    result, tenant = run_analyze(base, root, source, analysis_id)
    if result is None:
        return [f"{case.name}: no answer within {CASE_TIMEOUT_SECONDS}s (hang)"]
    problems: list[str] = []
    if "Traceback" in result.stderr:
        problems.append(f"{case.name}: traceback: {result.stderr[-800:]}")
    for folder in ("work", "tmp"):
        if listing(root / folder):
            problems.append(f"{case.name}: left files in {folder}: {listing(root / folder)}")
    if listing(inputs) != inputs_before:
        problems.append(f"{case.name}: wrote next to its input: {listing(inputs)}")
    staged = listing(tenant.staging)
    if any(not STAGED_NAME.fullmatch(name) for name in staged):
        problems.append(f"{case.name}: unexpected entries in staging: {staged}")
    committed = count_rows(base, analysis_id)
    errors = non_log_lines(result.stderr)
    outcome = "report" if result.returncode == 0 else "error"
    if case.expect != "either" and outcome != case.expect:
        problems.append(f"{case.name}: expected {case.expect}, got exit {result.returncode}")
    if outcome == "error":
        if len(errors) != 1 or not errors[0].startswith("clean-my-data: error: "):
            problems.append(f"{case.name}: not a one-line error: {errors!r}")
        elif case.message and case.message.lower() not in errors[0].lower():
            problems.append(f"{case.name}: error {errors[0]!r} lacks {case.message!r}")
        if result.stdout or staged or committed != (0, 0, 0):
            problems.append(f"{case.name}: error left output {staged} / rows {committed}")
    else:
        final = json.loads(result.stdout)
        entries = final["report"]["downloads"]
        if final["analysis_id"] != analysis_id or len(entries) != KINDS:
            problems.append(f"{case.name}: malformed final object")
        if len(staged) != KINDS or committed != (1, KINDS, KINDS) or errors:
            problems.append(f"{case.name}: report with staged {staged}, rows {committed}")
        problems.extend(
            f"{case.name}: {problem}"
            for name in staged
            if name.endswith(".xlsx")
            for problem in malformed_parts(tenant.staging / name)
        )
    return problems


@pytest.mark.timeout(900)  # ~60 cases, each a CLI run, four at a time
def test_hostile_corpus_through_the_cli_errors_cleanly_or_reports(
    harness: Harness, tmp_path: Path
) -> None:
    assert len(CASES) >= 30
    corpus_before = listing(FILES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(
            lambda item: check_case(harness, tmp_path / f"case-{item[0]}", *item),
            enumerate(CASES),
        )
        problems = [problem for found in results for problem in found]
    assert problems == []
    assert listing(FILES) == corpus_before


# --- hostile file names and analysis ids --------------------------------------------------


def hostile_names(root: Path) -> Iterator[tuple[str, Path]]:
    """(label, path) of inputs with hostile names; the content is the dirty example."""
    content = EXAMPLE.read_bytes()

    def put(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    put(root / "plain" / "sub" / "orders.csv")
    yield "dot-dot segments", root / "plain" / ".." / "plain" / "sub" / ".." / "sub" / "orders.csv"
    yield "dot-dot in the name", put(root / "names" / "..%2F..%2Fetc%2Fpasswd..csv")
    yield "only dots and extension", put(root / "names" / "....csv")
    yield "unicode", put(root / "names" / "Données été 😀 日本語.csv")
    yield "control characters", put(root / "names" / "tab\tnew\nline\x1b[31m.csv")
    yield "quotes and shell", put(root / "names" / "'; DROP TABLE downloads; --$(id).csv")
    yield "255-byte name", put(root / "names" / ("é" * 125 + "x.csv"))
    deep = root / "deep"
    for i in range(8):
        deep = deep / (f"{i}" + "d" * 240)
    path = put(deep / ("n" * 240 + ".csv"))
    assert len(str(path)) >= 2000
    yield "2,000-character path", path


def test_hostile_file_names_are_stored_under_sanitised_keys_inside_the_prefix(
    harness: Harness, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs"
    ids: set[str] = set()
    for n, (label, path) in enumerate(hostile_names(inputs)):
        analysis_id = f"name-{n}"
        result = harness.analyze(path, analysis_id)
        assert result.returncode == 0, f"{label}: {result.stderr[-800:]}"
        ids.add(analysis_id)
        for entry in json.loads(result.stdout)["report"]["downloads"]:
            key = entry["s3_path"].removeprefix(f"s3://{harness.bucket}/")
            assert key.startswith(f"{PREFIX}/test/clean-my-data/{analysis_id}/"), (label, key)
            assert SAFE_KEY.fullmatch(key), (label, key)
            assert ".." not in key, (label, key)
            assert len(key) <= MAX_KEY_LENGTH, (label, key)
            assert all(ch.isprintable() for ch in entry["file_name"]), (label, entry)
    assert all(STAGED_NAME.fullmatch(name) for name in harness.staged_files())
    assert listing(harness.root / "staging") == harness.staged_files()  # no sub-directories

    done = harness.relay_once()
    assert done.returncode == 0, done.stderr
    everything = {
        item["Key"]
        for page in harness.s3_client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=harness.bucket)
        for item in page.get("Contents", [])
    }
    assert everything == harness.object_keys()  # nothing outside the configured prefix
    harness.assert_recovered(ids)


@pytest.mark.parametrize(
    ("analysis_id", "fragment"),
    [
        ("../../etc/passwd", "may hold only"),
        ("a/b", "may hold only"),
        ("reports/../../x", "may hold only"),
        ("..", "must start with a letter or digit"),
        ("ünïcödé", "may hold only"),
        ("line\nbreak", "may hold only"),
        ("x" * 2000, "at most 128"),
    ],
)
def test_hostile_analysis_ids_are_refused_in_one_line_with_nothing_written(
    harness: Harness, analysis_id: str, fragment: str
) -> None:
    result = harness.cli("analyze", str(EXAMPLE), "--analysis-id", analysis_id)
    assert result.returncode == 2
    assert result.stdout == ""
    errors = non_log_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("clean-my-data: error: --analysis-id")
    assert fragment in errors[0]
    assert harness.staged_files() == []
    assert harness.report_rows() == []


# --- formula neutralisation in the stored downloads ---------------------------------------


def is_dangerous(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not PLAIN_NUMBER.fullmatch(value)
    )


def test_formula_cells_are_text_in_the_xlsx_and_neutralised_in_the_csv_on_request(
    harness: Harness, tmp_path: Path
) -> None:
    crafted = tmp_path / "formulas.csv"
    crafted.write_text(
        '=HYPERLINK("http://evil"),@name,+plus,-minus,amount\n'
        "=1+1,@SUM(A1),+cmd|' /C calc'!A0,-2+3,-5\n"
        '"=IMPORTXML(""http://x"",""//a"")",@x,+1,-1.5e3,+3\n'
        "\t=tabbed,\r=cr,ok,fine,7\n",
        encoding="utf-8",
    )
    runs = {
        "corpus": (FILES / "formula_injection.csv", {}),
        "crafted": (crafted, {}),
        "crafted-neutralised": (crafted, {"FORMULA_CELLS": "neutralise"}),
    }
    for analysis_id, (source, env) in runs.items():
        result = harness.analyze(source, analysis_id, **env)
        assert result.returncode == 0, result.stderr
    done = harness.relay_once()
    assert done.returncode == 0, done.stderr

    csv_cells: dict[str, list[str]] = {}
    xlsx_texts: list[str] = []
    for row in harness.downloads():
        key = row["s3_path"].removeprefix(f"s3://{harness.bucket}/")
        data = harness.object_bytes(key)
        if row["format"] == "csv":
            reader = csv.reader(io.StringIO(data.decode("utf-8")))
            header, *body = list(reader)
            assert not [c for c in header if is_dangerous(c)], header
            csv_cells[row["analysis_id"]] = [c for r in body for c in r]
        elif row["format"] == "xlsx":
            workbook = load_workbook(io.BytesIO(data))
            for sheet in workbook.worksheets:
                for line in sheet.iter_rows():
                    for cell in line:
                        where = (row["analysis_id"], sheet.title, cell.coordinate, cell.value)
                        assert cell.data_type != "f", where  # never a formula
                        if is_dangerous(cell.value):
                            assert cell.data_type in ("s", "inlineStr"), where
                            xlsx_texts.append(str(cell.value))
    # by default the cleaned CSV holds the data exactly; the workbook shows it as text
    assert "+cmd|' /C calc'!A0" in csv_cells["crafted"]
    assert "=cmd|' /C calc'!A0" in csv_cells["corpus"]
    assert "=cmd|' /C calc'!A0" in xlsx_texts
    # neutralised on request: nothing a spreadsheet would run, plain numbers untouched
    neutralised = csv_cells["crafted-neutralised"]
    assert not [c for c in neutralised if is_dangerous(c)], neutralised
    assert "'+cmd|' /C calc'!A0" in neutralised
    assert "'-2+3" in neutralised
    assert "-5" in neutralised
