"""Hand-made engine output (Profile, CleanedChunk) for the generator and pipeline tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WriteFn, WrittenArtifact
from domain.downloads.content import ReportContent
from domain.downloads.spill import RowIssueSpill
from domain.model import (
    ROW_ISSUE_SCHEMA,
    CleanedChunk,
    ColumnProfile,
    Finding,
    Profile,
    Recommendation,
    RoutingDecision,
    Scores,
    Severity,
    Shape,
    SourceInfo,
)
from domain.report import assemble_final_object, build_report_body

HEADER = ("order_id", "customer", "amount", "note")


def make_rows(count: int) -> list[tuple[str | None, ...]]:
    notes = ["ok", '=HYPERLINK("http://x")', "-12.5", "@SUM(A1)", None, 'a,b "quoted"', "+1 555"]
    return [
        (f"{i:05d}", f"Customer {i % 7}", f"{i * 1.5:.2f}", notes[i % len(notes)])
        for i in range(count)
    ]


def make_issues(rows: range) -> pa.Table:
    records = [
        {
            "row": r + 2,
            "column": "customer",
            "code": "whitespace" if r % 2 else "null_sentinel",
            "severity": "low" if r % 2 else "medium",
            "old_value": f" Customer {r % 7} " if r % 2 else "N/A",
            "new_value": f"Customer {r % 7}" if r % 2 else None,
            "action": "trim_whitespace" if r % 2 else "unify_null_sentinels",
        }
        for r in rows
    ]
    return pa.Table.from_pylist(records, schema=ROW_ISSUE_SCHEMA)


def make_profile(rows: int, file_name: str = "Sales Data.csv") -> Profile:
    return Profile(
        source=SourceInfo(file_name, 12_345, "csv", "utf-8", ","),
        shape=Shape(rows_in=rows + 3, columns_in=5, rows_out=rows, columns_out=4),
        columns=tuple(
            ColumnProfile(
                name=name,
                original_name=name.upper(),
                position=i,
                inferred_type="code" if i == 0 else "text",
                count=rows,
                missing=1,
                missing_share=1 / max(rows, 1),
                distinct=rows,
                distinct_is_estimate=i == 1,
                invalid=0,
                stats={"min": "1", "max": "=9"},
                top_values=(("a", 3), ("b", 2)),
            )
            for i, name in enumerate(HEADER)
        ),
        findings=(
            Finding("null_sentinel", Severity.MEDIUM, "3 cells hold N/A.", "customer", 3, (2, 4)),
            Finding("duplicate_rows", Severity.HIGH, "2 exact duplicate rows.", None, 2, (9,)),
            Finding(
                "ragged_rows",
                Severity.CRITICAL,
                "Row 7 has 6 cells.",
                None,
                1,
                (7,),
                {"line": 7, "cells": (6,), "ratio": float("nan")},
            ),
            Finding("constant_column", Severity.INFO, "Column x is constant.", "x", 1),
        ),
        recommendations=(Recommendation("close_spellings", "Check 'Acme' vs 'Acme.'", "customer"),),
        routing=(
            RoutingDecision("trim_whitespace", True, "cells had spaces", ("customer",), 10, 10, 5),
            RoutingDecision("impute_missing", False, "no imputation by default"),
        ),
        scores=Scores(90.0, 80.0, 95.0, 70.0),
        cleaned_header=HEADER,
    )


@dataclass
class FakeAnalysis:
    rows: int
    chunk_rows: int = 1000
    file_name: str = "Sales Data.csv"
    reads: int = field(default=0)

    @property
    def profile(self) -> Profile:
        return make_profile(self.rows, self.file_name)

    def iter_cleaned(self, progress=None) -> Iterator[CleanedChunk]:  # type: ignore[no-untyped-def]
        self.reads += 1
        data = make_rows(self.rows)
        for start in range(0, self.rows, self.chunk_rows):
            part = data[start : start + self.chunk_rows]
            batch = pa.RecordBatch.from_arrays(
                [pa.array([r[i] for r in part], pa.string()) for i in range(len(HEADER))],
                names=list(HEADER),
            )
            yield CleanedChunk(batch, make_issues(range(start, start + len(part))))
            if progress is not None:
                progress(start + len(part), self.rows)


def fake_engine(rows: int, chunk_rows: int = 1000):  # type: ignore[no-untyped-def]
    calls: list[Path] = []

    def analyze(path: Path, *, display_name=None, progress=None):  # type: ignore[no-untyped-def]
        calls.append(path)
        if progress is not None:
            progress(50, 100)
            progress(100, 100)
        return FakeAnalysis(rows, chunk_rows, display_name or path.name)

    analyze.calls = calls  # type: ignore[attr-defined]
    return analyze


class _WriteOnlyStream:
    """Like the staging sink's stream: write-only, not seekable."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def tell(self) -> int:
        return sum(len(c) for c in self.chunks)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class StagedSinkDouble(ArtifactSink):
    """Records what would be staged and answers with staged metadata (no content)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        stream = _WriteOnlyStream()
        write(stream)  # type: ignore[arg-type]
        data = b"".join(stream.chunks)
        self.files[spec.file_name] = data
        key = f"dev/clean-my-data/{spec.analysis_id}/{spec.file_name}"
        return WrittenArtifact(
            spec=spec,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            staged_path=f"{spec.download_id}.run.{spec.format.value}",
            object_key=key,
            s3_path=f"s3://bucket/{key}",
            content=None,
        )


def make_content(tmp_path: Path, rows: int, *, analysis_id: str = "an-1") -> ReportContent:
    """Report content as the pipeline would build it, with the row issues spilled to tmp_path."""
    analysis = FakeAnalysis(rows, chunk_rows=500)
    spill = RowIssueSpill(tmp_path / "issues.arrow")
    batches = []
    for chunk in analysis.iter_cleaned():
        spill.append(chunk.issues)
        batches.append(chunk.batch)
    digest = spill.finish()
    body = build_report_body(analysis.profile, digest)
    final_object = assemble_final_object(
        analysis_id=analysis_id,
        timestamp=datetime(2026, 11, 29, 12, 34, 56, tzinfo=UTC),
        execution_time_ms=5,
        body=body,
        downloads=[],
    )
    return ReportContent(
        final_object=final_object,
        row_issues=spill.iter_batches,
        row_issue_total=digest.total,
        cleaned_preview=pa.Table.from_batches(batches) if batches else pa.table({}),
        cleaned_row_total=rows,
    )
