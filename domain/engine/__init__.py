"""The analysis engine: pass 1 profiles the input (:func:`analyze_input`), pass 2
(:meth:`Analysis.iter_cleaned`) re-reads it and streams the cleaned data with its row issues.

Memory stays bounded whatever the input size: chunks of ``EngineOptions.block_size`` bytes, per
column sketches with caps, and 8 bytes per distinct row for duplicate detection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from domain.engine.cleaning import Cleaner
from domain.engine.headers import clean_header
from domain.engine.options import EngineOptions
from domain.engine.plan import CleaningPlan
from domain.engine.profiling import Profiler
from domain.engine.refine import refine_profile
from domain.engine.summarize import summarize
from domain.errors import InputError
from domain.model import CleanedChunk, Profile, SourceInfo
from domain.reading import SourceSpec, read_chunks, sniff_source
from domain.reading.chunks import group_chunks
from domain.reading.encodings import SINGLE_BYTE
from domain.reading.sniffing import detect_late_encoding
from domain.reading.stream import InvalidUtf8Error, RecordTooLargeError, max_record_bytes

ProgressFn = Callable[[int, int], None]  # (bytes_done, bytes_total), called every chunk

__all__ = ["Analysis", "EngineOptions", "ProgressFn", "analyze_input"]


class Analysis:
    """The result of pass 1 and the means to run pass 2.

    ``profile`` is what pass 1 learned. Pass 2 deduplicates on the fully cleaned values, so
    rows that become identical only after a number conversion or a spelling merge are dropped
    too; once :meth:`iter_cleaned` has been consumed to the end, ``profile`` reports those
    exact counts (rows_out, duplicate rows).
    """

    def __init__(
        self,
        spec: SourceSpec,
        profile: Profile,
        plan: CleaningPlan,
        options: EngineOptions,
        progress: ProgressFn | None,
    ) -> None:
        self._spec = spec
        self._profile = profile
        self._plan = plan
        self._options = options
        self._progress = progress
        self._refined: Profile | None = None

    @property
    def profile(self) -> Profile:
        return self._refined or self._profile

    @property
    def plan(self) -> CleaningPlan:
        return self._plan

    def iter_cleaned(self, progress: ProgressFn | None = None) -> Iterator[CleanedChunk]:
        """Re-read the input and yield cleaned batches with their row issues. Each call
        re-reads the file; ``progress`` (default: the one given to analyze_input) is called
        after every chunk with the input bytes behind it, and with (total, total) at the end."""
        report = progress or self._progress
        cleaner = Cleaner(self._plan, self._options.null_sentinels, self._options.sample_rows)
        total = self._spec.size_bytes
        done = 0
        for chunk in read_chunks(self._spec, self._options.block_size):
            yield cleaner.clean(chunk)
            done = min(chunk.bytes_done, total)
            if report is not None:
                report(done, total)
        if report is not None and done < total:
            report(total, total)
        self._refined = refine_profile(
            self._profile, cleaner.totals, self._plan, self._options.duplicates
        )


def _profile_pass(
    spec: SourceSpec, options: EngineOptions, progress: ProgressFn | None
) -> Profiler:
    profiler = Profiler(spec.column_count, options, spec.size_bytes)
    total = spec.size_bytes
    done = 0
    chunks = read_chunks(spec, options.block_size)
    if spec.input_format == "csv":  # workbooks: no faster joined, and more memory (bench/README)
        chunks = group_chunks(chunks, options.profile_cells)
    for chunk in chunks:
        profiler.add(chunk)
        done = min(chunk.bytes_done, total)
        if progress is not None:
            progress(done, total)
    if progress is not None and done < total:
        progress(total, total)
    profiler.finish()
    return profiler


MAX_BLOCK_SIZE = 64 << 20  # larger single records are refused


def _profile_with_retries(
    spec: SourceSpec, options: EngineOptions, progress: ProgressFn | None
) -> tuple[Profiler, SourceSpec, EngineOptions]:
    """Pass 1, restarted when the file turns out to need a single-byte encoding (invalid
    UTF-8 after the sniffed sample) or a larger block (a record longer than the block)."""
    while True:
        try:
            return _profile_pass(spec, options, progress), spec, options
        except InvalidUtf8Error:
            if spec.encoding not in ("utf-8", "utf-8-sig"):
                raise
            encoding, confidence = detect_late_encoding(spec.path)
            spec = replace(spec, encoding=encoding, encoding_confidence=confidence)
        except RecordTooLargeError:
            # a block larger than the longest record the cell limit allows would not help
            largest = min(MAX_BLOCK_SIZE, max_record_bytes(spec.column_count))
            if options.block_size >= largest:
                raise
            block = min(largest, max(options.block_size * 8, options.block_size + 1))
            options = replace(options, block_size=block)
        except InputError:
            if spec.encoding not in SINGLE_BYTE:
                raise
            # bytes the detected encoding leaves undefined (cp1252: 0x81, 0x8d, ...)
            spec = replace(spec, encoding="latin-1", encoding_confidence=0.0)


def analyze_input(
    path: Path,
    *,
    display_name: str | None = None,
    progress: ProgressFn | None = None,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen, safe as a default
) -> Analysis:
    """Sniff and profile ``path`` (pass 1). Raises InputError (one line) for bad input."""
    spec = sniff_source(Path(path), display_name)
    if spec.column_count > options.max_columns:
        raise InputError(
            f"{spec.file_name}: {spec.column_count} columns, more than the "
            f"{options.max_columns} supported"
        )
    profiler, spec, options = _profile_with_retries(spec, options, progress)
    names = clean_header(spec.header)
    source = SourceInfo(
        file_name=spec.file_name,
        size_bytes=spec.size_bytes,
        input_format=spec.input_format,
        encoding=spec.encoding,
        delimiter=spec.delimiter,
        sheet=spec.sheet,
        encoding_confidence=spec.encoding_confidence,
    )
    summary = summarize(profiler, spec.header, names, source, options)
    profile = Profile(
        source=source,
        shape=summary.shape,
        columns=summary.columns,
        findings=summary.findings,
        recommendations=summary.recommendations,
        routing=summary.routing,
        scores=summary.scores,
        cleaned_header=summary.plan.header,
    )
    return Analysis(spec, profile, summary.plan, options, progress)
