"""The row trail with the real engine: the Parquet download gives back every row issue cell by
cell, the JSON report's compact trail agrees with it, and floods of identical row issues stay
small in every artifact."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from domain.engine import analyze_input
from domain.model import ROW_ISSUE_SCHEMA
from domain.pipeline import FinalResult, run_analysis

EXPORT = (
    "Kunden-Nr;Name;Stadt;Betrag;Datum;Kanal\n"
    "001; Ann Smith ;Berlin;12,50;2021-03-04;Online\n"
    "002;Bob Jones;berlin ;n/a;04.03.2021;ONLINE\n"
    "003;NULL;BERLIN;1.234,00;04/03/2021; Filiale\n"
    "\n"
    "\n"
    "004;Cleo  Brown;Köln;-;20210304;filiale\n"
    "002;Bob Jones;berlin ;n/a;04.03.2021;ONLINE\n"
    '005;"Dev ""Q"" Lopez";  Köln;7,00;;Telefon\n'
    "006;=1+2;Essen;999999,99;2021-13-45;telefon\n"
)


def _download(result: FinalResult, fmt: str) -> bytes:
    (entry,) = [d for d in result.final_object["report"]["downloads"] if d["format"] == fmt]
    return base64.b64decode(entry["content_base64"])


def _expand(rows: list[Any]) -> list[int]:
    out: list[int] = []
    for item in rows:
        first, last = (item, item) if isinstance(item, int) else item
        out.extend(range(first, last + 1))
    return out


def _engine_issues(path: Path) -> pa.Table:
    chunks = [chunk.issues for chunk in analyze_input(path).iter_cleaned()]
    tables = [t.select(ROW_ISSUE_SCHEMA.names).cast(ROW_ISSUE_SCHEMA) for t in chunks]
    return pa.concat_tables(tables) if tables else ROW_ISSUE_SCHEMA.empty_table()


def test_the_parquet_trail_gives_back_every_row_issue_cell_by_cell(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text(EXPORT * 50, encoding="utf-8")
    expected = _engine_issues(source)
    assert expected.num_rows > 300  # the input is dirty enough to say something

    result = run_analysis(
        source, analysis_id="an-trail", inline=True, sink=None, scratch_dir=tmp_path
    )
    trail = pq.read_table(io.BytesIO(_download(result, "parquet")))
    assert trail.schema == ROW_ISSUE_SCHEMA
    assert trail.to_pylist() == expected.to_pylist()
    changed = [
        (i["row"], i["column"], i["old_value"], i["new_value"])
        for i in trail.to_pylist()
        if i["old_value"] != i["new_value"]
    ]
    assert changed  # cells the cleaning changed, each with its row, column, old and new value
    assert len(changed) == len(set(changed))

    # the JSON report's compact trail summarises exactly the same issues
    document = json.loads(_download(result, "json"))
    report = document["report"]
    assert report["rowLevelIssues"] == result.final_object["report"]["rowLevelIssues"]
    assert report["rowLevelIssues"] == expected.slice(0, 100).to_pylist()
    by_decision: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for issue in expected.to_pylist():
        key = (issue["column"], issue["code"], issue["severity"], issue["action"])
        by_decision.setdefault(key, []).append(issue)
    entries = report["rowLevelTrail"]
    assert [(e["column"], e["code"], e["severity"], e["action"]) for e in entries] == list(
        by_decision
    )
    for entry in entries:
        issues = by_decision[(entry["column"], entry["code"], entry["severity"], entry["action"])]
        assert entry["cells"] == len(issues)
        assert set(_expand(entry["rows"])) == {i["row"] for i in issues}
        assert entry["rowsTruncated"] is False
        assert entry["changesUnlisted"] == 0
        pairs: dict[tuple[Any, Any], int] = {}
        for issue in issues:
            pair = (issue["old_value"], issue["new_value"])
            pairs[pair] = pairs.get(pair, 0) + 1
        assert {(c["old"], c["new"]): c["count"] for c in entry["changes"]} == pairs


def test_a_flood_of_blank_lines_stays_small_in_every_download(tmp_path: Path) -> None:
    source = tmp_path / "blank.csv"
    blank_lines = 1_000_000
    source.write_bytes(b"a,b\n1,2\n" + b"\n" * blank_lines + b"3,4\n")
    size = source.stat().st_size

    result = run_analysis(
        source, analysis_id="an-blank", inline=True, sink=None, scratch_dir=tmp_path
    )
    report = result.final_object["report"]
    assert report["rowLevelIssuesTotal"] == blank_lines
    sizes = {d["format"]: d["size_bytes"] for d in report["downloads"]}
    assert sizes["json"] <= size // 10
    assert sizes["parquet"] <= size // 10
    assert sum(sizes.values()) <= size
    (entry,) = json.loads(_download(result, "json"))["report"]["rowLevelTrail"]
    assert entry["code"] == "blank_row"
    assert entry["rows"] == [[3, blank_lines + 2]]
    rows = pq.read_table(io.BytesIO(_download(result, "parquet")), columns=["row"])
    assert rows.column("row").to_pylist() == list(range(3, blank_lines + 3))
