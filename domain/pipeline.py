"""One analysis run: the engine, then the three downloads, then the final object. Pure: the
caller chooses the sink (memory for ``--inline``, the outbox's staging sink otherwise); no
database, no object store.

Nothing grows with the input except files: one pass over the cleaned data feeds the CSV writer,
hands each chunk's row-level issues to the JSON report's writer thread (which serialises,
hashes and writes them while the engine cleans the next chunks), spills the first
``ROW_ISSUES_SHEET_MAX_ROWS`` of them to an Arrow IPC file in a private scratch directory for
the workbook, and keeps a bounded preview. Then the workbook is written, and the JSON report is
completed with the rest of the final object (which lists the CSV and the workbook). The scratch
directory is removed and the writer thread stopped whatever happens.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import pyarrow as pa

from domain.artifacts import ArtifactSink, WrittenArtifact
from domain.downloads.content import ReportContent
from domain.downloads.csv_downloads import cleaned_schema, write_cleaned_csv
from domain.downloads.entries import (
    choose_sink,
    cleaned_csv_spec,
    describe_download,
    report_json_spec,
    report_xlsx_spec,
)
from domain.downloads.excel_downloads import (
    ROW_ISSUES_SHEET_MAX_ROWS,
    cleaned_preview_rows,
    write_excel_report,
)
from domain.downloads.json_downloads import StreamedJsonReport
from domain.downloads.spill import RowIssueSpill
from domain.model import CleanedChunk, Profile
from domain.report import assemble_final_object, build_report_body

PHASE_ANALYSING: Final = "analysing"  # done/total in input bytes
PHASE_CLEANING: Final = "cleaning"  # done/total in input bytes (the second pass re-reads it)
PHASE_REPORTING: Final = "reporting"  # done/total in report artifacts (xlsx, json)

ProgressFn = Callable[[str, int, int], None]
EngineProgressFn = Callable[[int, int], None]


class AnalysisLike(Protocol):
    """What the pipeline needs from the engine's ``Analysis``. ``profile`` is final only once
    ``iter_cleaned`` has been consumed (the second pass refines its counts)."""

    @property
    def profile(self) -> Profile: ...

    def iter_cleaned(self, progress: EngineProgressFn | None = None) -> Iterator[CleanedChunk]: ...


class AnalyzeFn(Protocol):
    def __call__(
        self,
        path: Path,
        *,
        display_name: str | None = None,
        progress: EngineProgressFn | None = None,
    ) -> AnalysisLike: ...


@dataclass(frozen=True)
class FinalResult:
    """The final object (plain JSON types) and the artifacts written for it, in the order
    cleaned CSV, xlsx report, JSON report."""

    final_object: dict[str, Any]
    artifacts: tuple[WrittenArtifact, ...]


def _ignore_progress(_phase: str, _done: int, _total: int) -> None:
    return None


def _default_analyze() -> AnalyzeFn:
    from domain.engine import analyze_input

    return analyze_input


class _Preview:
    """The first ``limit`` cleaned rows, for the workbook's Cleaned data sheet."""

    def __init__(self, schema: pa.Schema, limit: int) -> None:
        self._schema = schema
        self._limit = limit
        self._batches: list[pa.RecordBatch] = []
        self._rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if self._rows < self._limit and batch.num_rows:
            count = min(batch.num_rows, self._limit - self._rows)
            # take() copies the rows: a slice would keep the whole batch alive for the run
            head = batch.take(pa.array(range(count), pa.int64()))
            self._batches.append(head)
            self._rows += head.num_rows

    def table(self) -> pa.Table:
        return pa.Table.from_batches(self._batches, schema=self._schema)


class _CleanedPass:
    """Feeds the cleaned batches on to the CSV writer while passing the row issues to the spill
    and the JSON report's writer, keeping the preview and counting rows."""

    def __init__(
        self, spill: RowIssueSpill, json_report: StreamedJsonReport, preview: _Preview
    ) -> None:
        self._spill = spill
        self._json_report = json_report
        self._preview = preview
        self.rows = 0

    def stream(self, chunks: Iterable[CleanedChunk]) -> Iterator[pa.RecordBatch]:
        for chunk in chunks:
            self._json_report.add(self._spill.append(chunk.issues))
            self._preview.add(chunk.batch)
            self.rows += chunk.batch.num_rows
            yield chunk.batch


@dataclass(frozen=True)
class _Run:
    """What every step of one run shares."""

    analysis_id: str
    source_name: str
    inline: bool
    sink: ArtifactSink
    moment: datetime
    started: float  # time.monotonic()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def final_object(
        self, body: dict[str, Any], written: Sequence[WrittenArtifact], *, content: bool
    ) -> dict[str, Any]:
        """The final object with entries for ``written`` (with base64 content when inline and
        ``content``; the JSON report lists the artifacts before it without their bytes)."""
        return assemble_final_object(
            analysis_id=self.analysis_id,
            timestamp=self.moment,
            execution_time_ms=self.elapsed_ms(),
            body=body,
            downloads=[describe_download(w, self.inline, include_content=content) for w in written],
        )


def _write_reports(
    run: _Run,
    body: dict[str, Any],
    csv_written: WrittenArtifact,
    content: ReportContent,
    *,
    json_report: StreamedJsonReport,
    progress: ProgressFn,
) -> tuple[WrittenArtifact, WrittenArtifact]:
    """The workbook, then the end of the JSON report (which lists the CSV and the workbook)."""
    progress(PHASE_REPORTING, 0, 2)
    xlsx_written = write_excel_report(
        report_xlsx_spec(run.analysis_id, run.source_name), content, run.sink
    )
    progress(PHASE_REPORTING, 1, 2)
    json_written = json_report.finish(
        run.final_object(body, [csv_written, xlsx_written], content=False),
        row_issue_total=content.row_issue_total,
    )
    progress(PHASE_REPORTING, 2, 2)
    return xlsx_written, json_written


def run_analysis(
    input_path: Path,
    *,
    analysis_id: str,
    inline: bool,
    sink: ArtifactSink | None,
    scratch_dir: Path | None = None,
    progress: ProgressFn | None = None,
    display_name: str | None = None,
    timestamp: datetime | None = None,
    analyze: AnalyzeFn | None = None,
) -> FinalResult:
    """Analyse ``input_path``, write the cleaned CSV, the xlsx and the JSON report into the
    sink, and return the final object.

    ``inline=True`` keeps the artifacts in memory (the given sink, or an unbounded one) and
    yields entries with ``content_base64``; ``inline=False`` needs the caller's sink (the
    outbox's staging sink) and yields staged entries (``pending``).
    ``scratch_dir`` is where the private scratch directory is made (default: the system's).
    """
    started = time.monotonic()
    report_progress = progress or _ignore_progress
    target = choose_sink(inline, sink)
    analyze_fn = analyze or _default_analyze()

    def analysing_progress(done: int, total: int) -> None:
        report_progress(PHASE_ANALYSING, done, total)

    def cleaning_progress(done: int, total: int) -> None:
        report_progress(PHASE_CLEANING, done, total)

    analysis = analyze_fn(input_path, display_name=display_name, progress=analysing_progress)
    header = analysis.profile.cleaned_header
    run = _Run(
        analysis_id=analysis_id,
        source_name=analysis.profile.source.file_name,
        inline=inline,
        sink=target,
        moment=timestamp or datetime.now(UTC),
        started=started,
    )

    with (
        tempfile.TemporaryDirectory(prefix="clean-my-data-", dir=scratch_dir) as scratch,
        RowIssueSpill(
            Path(scratch) / "row_issues.arrow", keep_rows=ROW_ISSUES_SHEET_MAX_ROWS
        ) as spill,
        StreamedJsonReport(report_json_spec(analysis_id, run.source_name), target) as json_report,
    ):
        preview = _Preview(cleaned_schema(header), cleaned_preview_rows(len(header)))
        cleaned_pass = _CleanedPass(spill, json_report, preview)
        batches = cleaned_pass.stream(analysis.iter_cleaned(progress=cleaning_progress))
        csv_written = write_cleaned_csv(
            cleaned_csv_spec(analysis_id, run.source_name), header, batches, target
        )
        digest = spill.finish()
        # read the profile again: the second pass refined its counts
        body = build_report_body(analysis.profile, digest)
        content = ReportContent(
            final_object=run.final_object(body, [csv_written], content=False),
            row_issues=spill.iter_batches,
            row_issue_total=digest.total,
            cleaned_preview=preview.table(),
            cleaned_row_total=cleaned_pass.rows,
        )
        xlsx_written, json_written = _write_reports(
            run, body, csv_written, content, json_report=json_report, progress=report_progress
        )

    artifacts = (csv_written, xlsx_written, json_written)
    return FinalResult(
        final_object=run.final_object(body, artifacts, content=True), artifacts=artifacts
    )
