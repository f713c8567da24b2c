"""Stream a sniffed input as :class:`RawChunk` values.

CSV goes through ``pyarrow.csv.open_csv`` (single-threaded parse so that record numbers are
known; every column read as string). Records with the wrong number of cells reach the
``invalid_row_handler``; they are repaired (padded with empty cells or truncated) and put back
in their place, so the cleaned output keeps every record.

Record numbers: record 1 is the header, the first data record is 2, and every record counts,
blank ones included. This is the row number a spreadsheet shows, and equals the physical line
number unless a quoted field spans lines.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from domain.errors import InputError
from domain.prefetch import prefetch
from domain.reading.chunks import RaggedRow, RawChunk, SourceSpec
from domain.reading.limits import MAX_CELL_BYTES
from domain.reading.readahead import DropWatch, GatedInput
from domain.reading.transcode import Utf8Transcoder

READ_AHEAD_BLOCKS = 1  # raw blocks pyarrow may read beyond the batches parsed
PREFETCH_CHUNKS = 1  # parsed chunks waiting for the consumer
INTERLEAVE_SLICES_MAX = 32  # repaired records placed by zero-copy slices; more: one gather
# characters of a padded record kept for its row issue; a truncated record is kept whole, as
# its text is the only place the cells cut off are kept
RAGGED_TEXT_LIMIT = 500
INPUT_DROP_TIMEOUT_SECONDS = 5.0  # for Arrow's tasks to let go of a released input
_PYARROW_DECODES = ("utf-8", "utf-8-sig")  # pyarrow reads these natively (BOM skipped)


class InvalidUtf8Error(InputError):
    """The file passed the UTF-8 sniff but holds invalid UTF-8 further on."""


class RecordTooLargeError(InputError):
    """A single record does not fit in one read block (retry with a larger block)."""


def column_names(count: int) -> list[str]:
    return [f"c{i}" for i in range(count)]


def read_chunks(spec: SourceSpec, block_size: int) -> Iterator[RawChunk]:
    """Yield the data records of ``spec`` (header excluded) in order, chunk by chunk."""
    if spec.input_format == "xlsx":
        from domain.reading.xlsx import read_xlsx_chunks

        yield from read_xlsx_chunks(spec, block_size)
        return
    yield from _CsvStream(spec, block_size).chunks()


class _CsvStream:
    def __init__(self, spec: SourceSpec, block_size: int) -> None:
        self._spec = spec
        self._block_size = block_size
        self._names = column_names(spec.column_count)
        self._pending: list[tuple[int, list[str], RaggedRow]] = []
        self._skipped_total = 0  # repaired records seen by the handler so far
        self._consumed = 0  # repaired records already placed in a chunk
        self._valid_total = 0  # records pyarrow returned so far (header included)

    def _on_invalid_row(self, row: Any) -> str:
        number = int(row.number) if row.number is not None else -1
        text = str(row.text)
        cells = _split_record(text, self._spec.delimiter or ",")
        count = self._spec.column_count
        fixed = (cells + [""] * count)[:count]
        kept = text if len(cells) > count else text[:RAGGED_TEXT_LIMIT]
        self._pending.append(
            (number - self._skipped_total, fixed, RaggedRow(number, len(cells), kept))
        )
        self._skipped_total += 1
        return "skip"

    def _open(self, handle: GatedInput) -> Any:
        spec = self._spec
        read_options = pa_csv.ReadOptions(
            column_names=self._names,
            use_threads=False,
            block_size=self._block_size,
            encoding="utf8",  # other encodings arrive transcoded (see _parse)
        )
        parse_options = pa_csv.ParseOptions(
            delimiter=spec.delimiter or ",",
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=self._on_invalid_row,
        )
        convert_options = pa_csv.ConvertOptions(
            column_types=dict.fromkeys(self._names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        return pa_csv.open_csv(
            handle,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    def chunks(self) -> Iterator[RawChunk]:
        """The chunks, parsed on a thread at most PREFETCH_CHUNKS ahead of the caller."""
        return prefetch(self._parse, PREFETCH_CHUNKS)

    def _parse(self) -> Iterator[RawChunk]:
        spec = self._spec
        try:
            with _undecodable_rows() as undecodable, spec.path.open("rb") as handle:
                source: BinaryIO = handle
                if spec.encoding not in _PYARROW_DECODES:
                    source = Utf8Transcoder(handle, spec.encoding)  # type: ignore[assignment]
                blocks, gate = DropWatch(), DropWatch()
                gated = GatedInput(source, READ_AHEAD_BLOCKS, blocks)
                gate.watch(gated)
                reader = None
                failed = False
                try:
                    reader = self._open(gated)
                    while True:
                        try:
                            batch = reader.read_next_batch()
                        except StopIteration:
                            break
                        chunk = self._place(batch, gated.consume(), final=False)
                        if chunk is not None:
                            check_cells(spec, chunk)
                            yield chunk
                except GeneratorExit:
                    raise
                except BaseException:
                    failed = True  # a read's error holds the input in its traceback frames
                    raise
                finally:
                    gated.release()  # a read in flight or to come answers end of file at once
                    del reader, gated  # Arrow's tasks may still hold the input and its blocks
                    blocks.wait(INPUT_DROP_TIMEOUT_SECONDS)
                    if not failed:
                        gate.wait(INPUT_DROP_TIMEOUT_SECONDS)
                tail = self._place(None, spec.size_bytes, final=True)
                if tail is not None:
                    check_cells(spec, tail)
                    yield tail
        except pa.ArrowInvalid as exc:
            if undecodable and spec.encoding in _PYARROW_DECODES:
                raise InvalidUtf8Error(
                    f"{spec.file_name}: invalid UTF-8 text in a malformed row"
                ) from None
            raise _input_error(spec, exc) from None
        except (UnicodeDecodeError, UnicodeError) as exc:
            raise InputError(
                f"{spec.file_name}: cannot be decoded as {spec.encoding} ({exc.__class__.__name__})"
            ) from None
        except OSError as exc:
            raise InputError(f"{spec.file_name}: cannot be read ({exc.strerror or exc})") from None

    def _place(
        self, batch: pa.RecordBatch | None, bytes_done: int, *, final: bool
    ) -> RawChunk | None:
        """Number the batch's records and put the repaired records that belong to it in their
        places (zero-copy slices around them, no re-ordering of the whole batch)."""
        valid_rows: npt.NDArray[np.int64]
        if batch is not None and batch.num_rows:
            free = np.arange(batch.num_rows, dtype=np.int64) + (self._valid_total + 1)
            pending_q = np.fromiter((q for q, _, _ in self._pending), dtype=np.int64)
            shift = np.searchsorted(pending_q, free, side="right")
            valid_rows = free + self._consumed + shift
            self._valid_total += batch.num_rows
            limit = int(valid_rows[-1])
            if valid_rows[0] == 1:  # the header record
                batch, valid_rows = batch.slice(1), valid_rows[1:]
        else:
            batch = None
            valid_rows = np.empty(0, dtype=np.int64)
            limit = -1
        take = len(self._pending) if final else sum(1 for q in self._pending if q[2].row < limit)
        placed = [item for item in self._pending[:take] if item[2].row != 1]
        del self._pending[:take]
        self._consumed += take
        pieces: list[pa.RecordBatch] = [] if batch is None else [batch]
        rows = valid_rows
        table: pa.Table | None = None
        if placed:
            repaired = pa.RecordBatch.from_arrays(
                [
                    pa.array([cells[i] for _, cells, _ in placed], pa.string())
                    for i in range(len(self._names))
                ],
                names=self._names,
            )
            repaired_rows = np.array([info.row for _, _, info in placed], dtype=np.int64)
            if len(placed) <= INTERLEAVE_SLICES_MAX:
                pieces = _interleave(batch, valid_rows, repaired, repaired_rows)
                rows = np.sort(np.concatenate([valid_rows, repaired_rows]))
            else:  # many repaired records: one gather, not thousands of one-row slices
                table, rows = _merge_by_row(batch, valid_rows, repaired, repaired_rows)
        if rows.size == 0:
            return None
        return RawChunk(
            table=table if table is not None else pa.Table.from_batches(pieces),
            rows=rows,
            ragged=tuple(info for _, _, info in placed),
            bytes_done=bytes_done,
        )


_CELL_LIMIT_TEXT = (
    f"a cell longer than the {MAX_CELL_BYTES >> 20} MiB cell limit (or an unclosed quote)"
)


def max_record_bytes(column_count: int) -> int:
    """The longest record the cell limit allows: every cell at the limit, each of its bytes a
    doubled quote, with its quotes and delimiter."""
    return column_count * (2 * MAX_CELL_BYTES + 3) + 2


def check_cells(spec: SourceSpec, chunk: RawChunk) -> None:
    """Raise CellLimitError when a cell of ``chunk`` is longer than MAX_CELL_BYTES."""
    for column in chunk.table.columns:
        if column.null_count == len(column):
            continue
        lengths = pc.binary_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_BYTES:
            index = pc.index(pc.greater(lengths, MAX_CELL_BYTES), True).as_py()
            raise CellLimitError(
                f"{spec.file_name}: record {int(chunk.rows[index])} has {_CELL_LIMIT_TEXT}"
                f" ({longest:,} bytes)"
            )


class CellLimitError(InputError):
    """A cell is longer than MAX_CELL_BYTES."""


def _merge_by_row(
    batch: pa.RecordBatch | None,
    rows: npt.NDArray[np.int64],
    repaired: pa.RecordBatch,
    repaired_rows: npt.NDArray[np.int64],
) -> tuple[pa.Table, npt.NDArray[np.int64]]:
    """``batch`` and the repaired records as one contiguous table in record order."""
    parts = [repaired] if batch is None or batch.num_rows == 0 else [batch, repaired]
    numbers = repaired_rows if len(parts) == 1 else np.concatenate([rows, repaired_rows])
    order = np.argsort(numbers, kind="stable")
    table = pa.Table.from_batches(parts).take(pa.array(order))
    return table, numbers[order]


def _interleave(
    batch: pa.RecordBatch | None,
    rows: npt.NDArray[np.int64],
    repaired: pa.RecordBatch,
    repaired_rows: npt.NDArray[np.int64],
) -> list[pa.RecordBatch]:
    """Slices of ``batch`` with the repaired records inserted by record number."""
    if batch is None or batch.num_rows == 0:
        return [repaired]
    cuts = np.searchsorted(rows, repaired_rows)
    pieces: list[pa.RecordBatch] = []
    start = 0
    for index, cut in enumerate(cuts.tolist()):  # one step per repaired record (rare)
        if cut > start:
            pieces.append(batch.slice(start, cut - start))
            start = cut
        pieces.append(repaired.slice(index, 1))
    if start < batch.num_rows:
        pieces.append(batch.slice(start))
    return pieces


@contextmanager
def _undecodable_rows() -> Iterator[list[BaseException]]:
    """pyarrow decodes a ragged row's text before calling the handler; when that text is not
    valid UTF-8 the error is "unraisable" (printed with a traceback) and the row becomes a
    parse error. Collect those errors instead of printing them, while reading."""
    caught: list[BaseException] = []
    previous = sys.unraisablehook

    def hook(info: Any) -> None:
        if isinstance(info.exc_value, UnicodeDecodeError):
            caught.append(info.exc_value)
            return
        previous(info)

    sys.unraisablehook = hook
    try:
        yield caught
    finally:
        sys.unraisablehook = previous


def _split_record(text: str, delimiter: str) -> list[str]:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return [text]
    cells: list[str] = []
    for index, record in enumerate(records):  # a record with a quoted line break
        if index and cells:
            cells[-1] += "\n" + (record[0] if record else "")
            cells.extend(record[1:])
        else:
            cells.extend(record)
    return cells


def _input_error(spec: SourceSpec, exc: pa.ArrowInvalid) -> InputError:
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    if "invalid UTF8" in message or "UTF8" in message:
        return InvalidUtf8Error(f"{spec.file_name}: invalid UTF-8 text ({message})")
    if "straddling" in message or "block" in message:
        return RecordTooLargeError(
            f"{spec.file_name}: a record larger than the read block: {_CELL_LIMIT_TEXT}"
        )
    return InputError(f"{spec.file_name}: malformed CSV ({message})")
