"""Sniff an input file: format (CSV or XLSX), text encoding, delimiter and header labels.

Only a bounded sample from the start of the file is read. Bad input raises
:class:`domain.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
import zipfile
from collections import Counter
from pathlib import Path

from domain.display import escape_name
from domain.errors import InputError
from domain.reading.chunks import SourceSpec
from domain.reading.encodings import (
    SINGLE_BYTE,
    detect_legacy,
    detect_utf16,
    incremental_decoder,
    is_mixed_utf8,
    mixed_encoding,
    non_ascii_bytes,
    split_utf8,
)

SAMPLE_BYTES = 1 << 20  # sniff on the first MiB
SNIFF_LINES = 200  # records used to choose the delimiter
DELIMITERS = (",", ";", "\t", "|")  # in order of preference on ties
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and other OLE files
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D, 0x0C}
MAX_CONTROL_SHARE = 0.01  # more control bytes than this in the sample: binary


def sniff_source(path: Path, display_name: str | None = None) -> SourceSpec:
    """Return how to read ``path``; raise InputError when it cannot be analysed."""
    name = escape_name(display_name or path.name)
    try:
        size, sample = _read_sample(path, name)
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if size == 0 or not sample:
        raise InputError(f"{name}: the file is empty")
    if sample.startswith(_ZIP_MAGIC):
        from domain.reading.xlsx import sniff_xlsx

        return sniff_xlsx(path, name, size)
    if sample.startswith(_OLE_MAGIC):
        raise InputError(
            f"{name}: legacy binary Excel (.xls) is not supported; save as .xlsx or CSV"
        )
    encoding, confidence = _detect_encoding(sample, name)
    text = _decode_sample(sample, encoding, complete=len(sample) == size)
    if not text.strip():
        raise InputError(f"{name}: no data, the file holds only blank lines")
    delimiter = _detect_delimiter(text)
    header = _read_header(text, delimiter, name)
    return SourceSpec(
        path=path,
        file_name=name,
        size_bytes=size,
        input_format="csv",
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        encoding_confidence=confidence,
    )


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read_sample(path: Path, name: str) -> tuple[int, bytes]:
    """(size, first SAMPLE_BYTES) of a regular file (a symlink is followed). The file is opened
    without blocking, so a FIFO with no writer is refused instead of waited on."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = next((label for test, label in _FILE_KINDS if test(mode)), "a special file")
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(path)
            raise InputError(f"{name}: not a regular file ({kind})")
        size = os.fstat(descriptor).st_size
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            sample = handle.read(SAMPLE_BYTES)
    finally:
        os.close(descriptor)
    return size, sample


def _detect_encoding(sample: bytes, name: str) -> tuple[str, float]:
    """(codec, confidence 0..1): a byte order mark, UTF-16 without one, UTF-8 (the fast
    path), else the most plausible legacy encoding (domain.reading.encodings)."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding, 1.0
    utf16 = detect_utf16(sample)
    if utf16 is not None:
        return utf16.encoding, utf16.confidence
    if b"\x00" in sample:
        raise InputError(f"{name}: looks binary (contains NUL bytes), not a CSV text file")
    control = sum(sample.count(bytes([b])) for b in _CONTROL_BYTES)
    if control > MAX_CONTROL_SHARE * len(sample):
        raise InputError(f"{name}: looks binary (control characters), not a CSV text file")
    head = sample
    for _ in range(4):  # the sample may end inside a multi-byte sequence
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
                head = head[: exc.start]
                continue
            break
        else:
            return "utf-8", 1.0
    rest, valid = split_utf8(head)
    if is_mixed_utf8(non_ascii_bytes(head), valid):
        return _mixed(rest)
    legacy = detect_legacy(sample)
    if legacy is not None:
        return legacy.encoding, legacy.confidence
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", 0.0
    return "cp1252", 0.0


NON_ASCII_SAMPLE = 256 << 10  # bytes of non-ASCII lines judged when UTF-8 fails late


def detect_late_encoding(path: Path) -> tuple[str, float]:
    """(codec, confidence) for a file whose first MiB was valid UTF-8 but whose rest is not:
    the blocks that are not UTF-8 are gathered (bounded) and judged among the single-byte
    encodings (the file's UTF-8 part must not make a multi-byte one look likely)."""
    gathered = bytearray()
    rests = bytearray()  # the gathered blocks without their UTF-8 sequences
    non_ascii = valid = 0
    with path.open("rb") as handle:
        while len(gathered) < NON_ASCII_SAMPLE and (block := handle.read(16 << 10)):
            high = non_ascii_bytes(block)
            non_ascii += high
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                gathered += block
                rest, in_utf8 = split_utf8(block)
                rests += rest
                valid += in_utf8
            else:
                valid += high
    if is_mixed_utf8(non_ascii, valid):
        return _mixed(bytes(rests))
    legacy = detect_legacy(bytes(gathered), SINGLE_BYTE) if gathered else None
    if legacy is None:
        return "cp1252", 0.0
    return legacy.encoding, legacy.confidence


def _mixed(legacy_part: bytes) -> tuple[str, float]:
    """The mixed label for a UTF-8 file with bytes that are not: their legacy encoding judged
    on them alone (``legacy_part``: the sample without its UTF-8 sequences)."""
    legacy = detect_legacy(legacy_part, SINGLE_BYTE) if legacy_part else None
    if legacy is None:
        return mixed_encoding("cp1252"), 0.0
    return mixed_encoding(legacy.encoding), legacy.confidence


def _decode_sample(sample: bytes, encoding: str, *, complete: bool) -> str:
    decoder = incremental_decoder(encoding, errors="replace")
    text = decoder.decode(sample, final=complete)
    if not complete and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # drop the cut-off last line
    return text


def _field_counts(text: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    counts: list[int] = []
    try:
        for record in reader:
            if record and any(cell.strip() for cell in record):
                counts.append(len(record))
            if len(counts) >= SNIFF_LINES:
                break
    except csv.Error:
        pass
    return counts


def _detect_delimiter(text: str) -> str:
    """The candidate giving the most consistent cell count (at least 2 cells) wins."""
    best = DELIMITERS[0]
    best_score = (0.0, 0)
    for delimiter in DELIMITERS:
        counts = _field_counts(text, delimiter)
        if not counts:
            continue
        modal, hits = Counter(counts).most_common(1)[0]
        if modal < 2:
            continue
        consistency = round(hits / len(counts), 2)
        score = (consistency, modal)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_header(text: str, delimiter: str, name: str) -> tuple[str, ...]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{name}: no header row found") from None
    except csv.Error as exc:
        raise InputError(f"{name}: the header row cannot be parsed ({exc})") from None
    if not header or not any(label.strip() for label in header):
        raise InputError(f"{name}: no header, the first line is blank")
    first = header[0].lstrip()
    if first[:1] in ("{", "[", "<"):
        raise InputError(f"{name}: not tabular data (looks like JSON, HTML or XML)")
    return tuple(header)


def check_zip_is_xlsx(path: Path, name: str) -> None:
    """Raise InputError unless ``path`` is a zip holding an Excel workbook."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(
            f"{name}: a damaged zip archive, not a readable workbook ({exc})"
        ) from None
    if "xl/workbook.xml" not in names:
        raise InputError(f"{name}: a zip archive that is not an Excel workbook")
