"""Receiving an input over HTTP: the body (raw or one multipart file) streamed chunk by chunk
into an :class:`InputSpool`, cut off above ``MAX_UPLOAD_BYTES`` (413) or when the client stops
sending for ``API_BODY_TIMEOUT_SECONDS`` (408); nothing is kept after a failure."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Final

from fastapi import Request
from starlette.datastructures import UploadFile

from clean_my_data.jobs.inputs import InputSpool, InputTooLargeError
from clean_my_data.web.problems import ProblemError

MULTIPART_OVERHEAD_BYTES: Final = 64 * 1024
READ_CHUNK_BYTES: Final = 1024 * 1024
_FILENAME: Final = re.compile(r'filename="?([^";]+)"?')


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        f"the input is larger than {limit:,} bytes (MAX_UPLOAD_BYTES)",
        kind="input-too-large",
        title="The input is too large",
    )


def check_declared_length(request: Request, limit: int, *, multipart: bool) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        if multipart:
            raise ProblemError(411, "a multipart upload needs a Content-Length header")
        return
    try:
        length = int(declared)
    except ValueError:
        raise ProblemError(400, "Content-Length is not a number") from None
    if length > limit + (MULTIPART_OVERHEAD_BYTES if multipart else 0):
        raise _too_large(limit)


async def _timed(stream: AsyncIterator[bytes], timeout: float) -> AsyncIterator[bytes]:
    iterator = stream.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ProblemError(
                408,
                f"the request body stalled for more than {timeout:g} s",
                kind="body-timeout",
                headers={"Connection": "close"},
            ) from None
        yield chunk


def raw_file_name(request: Request, given: str | None) -> str:
    if given:
        return given
    match = _FILENAME.search(request.headers.get("content-disposition", ""))
    return match.group(1) if match else "input.csv"


async def receive_raw(request: Request, spool: InputSpool, timeout: float) -> None:
    try:
        async for chunk in _timed(request.stream(), timeout):
            spool.write(chunk)
    except InputTooLargeError as exc:
        raise _too_large(spool.max_bytes) from exc


async def receive_multipart(request: Request, spool: InputSpool, timeout: float) -> str:
    """The one file part (field ``file``) into ``spool``; returns its file name."""
    try:
        form = await asyncio.wait_for(request.form(max_files=1, max_fields=8), timeout * 4)
    except TimeoutError:
        raise ProblemError(408, "the multipart body took too long", kind="body-timeout") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ProblemError(
                422, "the multipart body has no file part named 'file'", kind="invalid-request"
            )
        while chunk := await upload.read(READ_CHUNK_BYTES):
            spool.write(chunk)
        return upload.filename or "input.csv"
    except InputTooLargeError as exc:
        raise _too_large(spool.max_bytes) from exc
    finally:
        await form.close()
