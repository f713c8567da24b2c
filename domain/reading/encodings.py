"""Text encoding of a CSV sample that is not UTF-8: UTF-16 without a byte order mark, or the
most plausible legacy encoding according to charset-normalizer, with a confidence (0..1).

A file that is UTF-8 with some bytes that are not (rows pasted from a legacy export) is read
as ``utf-8+<legacy>``: UTF-8 wherever it is valid, the legacy encoding for each byte that is
not. Reading the whole file in the legacy encoding would turn every UTF-8 character of it into
two or three wrong ones (``Köln`` into ``KÃ¶ln``)."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache
from typing import Final

# Candidates, in order of preference when charset-normalizer rates several alike (the same
# text, or no language evidence either way): Western European first, the most common legacy
# encoding of CSV exports.
CANDIDATES: Final = (
    "cp1252",
    "iso8859_15",
    "cp1251",
    "cp1250",
    "cp1253",
    "cp1254",
    "cp1257",
    "koi8_r",
    "cp1255",
    "cp1256",
    "shift_jis",
    "gb18030",
    "big5",
    "euc_kr",
)
SINGLE_BYTE: Final = CANDIDATES[:10]  # every byte sequence decodes (nearly) in these
TIE: Final = 0.01  # chaos or coherence closer than this counts as equal
UTF16_HIGH_BYTE_SHARE: Final = 0.9  # of the high bytes taking at most two values
UTF16_MARGIN: Final = 0.3  # ... and the low bytes that much less concentrated


# a file whose non-ASCII bytes are at least this share valid multi-byte UTF-8 sequences is
# UTF-8 (legacy text forms such sequences only by chance: far fewer)
MIXED_UTF8_SHARE: Final = 0.05
MIXED_PREFIX: Final = "utf-8+"
_HIGH_BYTES: Final = bytes(range(0x80, 0x100))
_UTF8_SEQUENCE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def non_ascii_bytes(data: bytes) -> int:
    return len(data) - len(data.translate(None, _HIGH_BYTES))


def split_utf8(data: bytes) -> tuple[bytes, int]:
    """(``data`` without its valid multi-byte UTF-8 sequences, the bytes those took): what is
    left is what a legacy encoding must explain in a mixed file."""
    rest = _UTF8_SEQUENCE.sub(b"", data)
    return rest, len(data) - len(rest)


def is_mixed_utf8(non_ascii: int, valid: int) -> bool:
    """Whether a file with ``non_ascii`` bytes, ``valid`` of them in valid multi-byte UTF-8
    sequences, is UTF-8 with some bytes that are not."""
    return non_ascii > valid >= MIXED_UTF8_SHARE * non_ascii


def mixed_encoding(legacy: str) -> str:
    return MIXED_PREFIX + legacy


def _legacy_bytes(data: bytes, legacy: str) -> str:
    """Each byte in ``legacy``; one it leaves undefined (cp1252's 0x81, ...) in Latin-1."""
    return "".join(
        bytes([b]).decode(legacy) if _defines(legacy, b) else bytes([b]).decode("latin-1")
        for b in data
    )


@cache
def _defines(legacy: str, byte: int) -> bool:
    try:
        bytes([byte]).decode(legacy)
    except UnicodeDecodeError:
        return False
    return True


@cache
def _fallback(legacy: str) -> str:
    """The name of a codecs error handler decoding UTF-8's invalid bytes in ``legacy``."""
    name = f"clean-my-data-{legacy}"

    def handle(error: UnicodeError) -> tuple[str, int]:
        if not isinstance(error, UnicodeDecodeError):
            raise error
        return _legacy_bytes(error.object[error.start : error.end], legacy), error.end

    codecs.register_error(name, handle)
    return name


def incremental_decoder(encoding: str, errors: str = "strict") -> codecs.IncrementalDecoder:
    """A decoder for a Python codec name or a mixed ``utf-8+<legacy>`` label (which never
    fails: every byte that is not UTF-8 is decoded in the legacy encoding)."""
    if encoding.startswith(MIXED_PREFIX):
        legacy = encoding.removeprefix(MIXED_PREFIX)
        return codecs.getincrementaldecoder("utf-8")(errors=_fallback(legacy))
    return codecs.getincrementaldecoder(encoding)(errors=errors)


@dataclass(frozen=True)
class DetectedEncoding:
    encoding: str  # a Python codec name
    confidence: float  # 0..1


def _top_share(data: bytes, values: int) -> float:
    counts = sorted((data.count(bytes([b])) for b in set(data)), reverse=True)
    return sum(counts[:values]) / len(data)


def detect_utf16(sample: bytes) -> DetectedEncoding | None:
    """UTF-16 without a BOM: the high byte of each character (every other byte) takes very
    few values, NUL for Latin text, one or two for a single other script, while the low
    bytes vary; the sample must then decode to text with line breaks and no control
    characters."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 8:
        return None
    even_top, odd_top = _top_share(even, 2), _top_share(odd, 2)
    if odd_top >= UTF16_HIGH_BYTE_SHARE and even_top < odd_top - UTF16_MARGIN:
        encoding, confidence = "utf-16-le", odd_top
    elif even_top >= UTF16_HIGH_BYTE_SHARE and odd_top < even_top - UTF16_MARGIN:
        encoding, confidence = "utf-16-be", even_top
    else:
        return None
    text = sample[: len(sample) // 2 * 2].decode(encoding, errors="replace")
    if "\n" not in text or "\ufffd" in text[:-1]:
        return None
    if any(ord(c) < 0x20 and c not in "\t\r\n\f" for c in text):
        return None
    return DetectedEncoding(encoding, round(confidence, 3))


def _preference(encodings: list[str]) -> int:
    ranks = [CANDIDATES.index(e) for e in encodings if e in CANDIDATES]
    return min(ranks, default=len(CANDIDATES))


def detect_legacy(
    sample: bytes, candidates: tuple[str, ...] = CANDIDATES
) -> DetectedEncoding | None:
    """The most plausible of ``candidates`` for a sample that is not UTF-8: the least chaos
    (mojibake), then the most coherent language, then the order of CANDIDATES."""
    import charset_normalizer  # only files that are not UTF-8 pay for its import (~90 ms)

    matches = list(charset_normalizer.from_bytes(sample, cp_isolation=list(candidates)))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    clean = [m for m in matches if m.chaos <= least + TIE]
    best_coherence = max(m.coherence for m in clean)
    coherent = [m for m in clean if m.coherence >= best_coherence - TIE]
    best = min(coherent, key=lambda m: _preference([m.encoding, *m.could_be_from_charset]))
    rank = _preference([best.encoding, *best.could_be_from_charset])
    chosen = CANDIDATES[rank] if rank < len(CANDIDATES) else best.encoding
    return DetectedEncoding(chosen, round(max(0.0, 1.0 - best.chaos), 3))
