"""A ``multipart/form-data`` body parsed as it arrives: the bytes of its one file part (field
``file``) go straight into a :class:`~clean_my_data.jobs.inputs.PendingInput`, so the file is
written once, with no spooled copy of the form, and the body is read under the same stall
timeout as a raw upload. Other fields are skipped (at most :data:`MAX_FIELD_BYTES` of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from clean_my_data.jobs.inputs import PendingInput
from clean_my_data.web.bodies import SMALL_BODY_MAX_BYTES
from clean_my_data.web.problems import ProblemError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD: Final = "file"
DEFAULT_FILE_NAME: Final = "input.csv"
MAX_FIELD_BYTES: Final = SMALL_BODY_MAX_BYTES  # of the parts but the file, all together
MAX_PARTS: Final = 16
_HEADER_BYTES: Final = 8 * 1024  # of one part's headers, all together


def _malformed(detail: str) -> ProblemError:
    return ProblemError(400, f"the multipart body is malformed: {detail}", kind="invalid-request")


def multipart_boundary(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type; 400 without one."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed("its Content-Type has no boundary")
    return boundary


class MultipartFile:
    """Feed the body with :meth:`write`; :meth:`finish` checks that the body ended with its
    closing boundary and held exactly one complete ``file`` part, and returns the input that
    part was written to. ``open_input(file_name)`` is called when that part's headers are read
    (the part's ``filename``, or :data:`DEFAULT_FILE_NAME` for a plain field). Errors are
    :class:`ProblemError`; errors of the input (too large, store) are raised as they are."""

    def __init__(self, boundary: bytes, open_input: Callable[[str], PendingInput]) -> None:
        self._open_input = open_input
        self._input: PendingInput | None = None
        self._in_file = False  # the current part is the file part
        self._file_done = False
        self._ended = False
        self._parts = 0
        self._field_bytes = 0
        self._header_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        try:
            self._parser = MultipartParser(boundary, callbacks)
        except FormParserError as exc:
            raise _malformed(str(exc)) from None

    def write(self, chunk: bytes) -> None:
        if self._ended:
            return  # the epilogue after the closing boundary is ignored
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise _malformed(str(exc)) from None

    def finish(self) -> PendingInput:
        try:
            self._parser.finalize()
        except FormParserError as exc:
            raise _malformed(str(exc)) from None
        if not self._ended:
            raise _malformed("it ends before its closing boundary")
        if self._input is None or not self._file_done:
            raise ProblemError(
                422,
                f"the multipart body has no file part named {FILE_FIELD!r}",
                kind="invalid-request",
            )
        return self._input

    def close(self) -> None:
        """Remove what was written unless it was published (harmless after publish)."""
        if self._input is not None:
            self._input.close()

    def __enter__(self) -> MultipartFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the parser's callbacks ---

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        self._in_file = False
        self._header_bytes = 0
        self._disposition = b""
        self._header_name.clear()
        self._header_value.clear()

    def _count_header(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > _HEADER_BYTES:
            raise _malformed(f"a part's headers exceed {_HEADER_BYTES:,} bytes")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if bytes(self._header_name).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        kind, params = parse_options_header(self._disposition)
        if kind != b"form-data" or params.get(b"name") != FILE_FIELD.encode():
            return
        if self._input is not None:
            raise ProblemError(
                422,
                f"the multipart body has more than one part named {FILE_FIELD!r}",
                kind="invalid-request",
            )
        given = params.get(b"filename", b"").decode("utf-8", "replace")
        self._input = self._open_input(given if given.strip() else DEFAULT_FILE_NAME)
        self._in_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self._input is not None:
            self._input.write(data[start:end])
            return
        self._field_bytes += end - start
        if self._field_bytes > MAX_FIELD_BYTES:
            raise _malformed(f"its other fields exceed {MAX_FIELD_BYTES:,} bytes")

    def _on_part_end(self) -> None:
        if self._in_file:
            self._file_done = True
            self._in_file = False

    def _on_end(self) -> None:
        self._ended = True
