"""Receiving an input over HTTP: the body (raw or one multipart file) streamed chunk by chunk
into a :class:`PendingInput` (the store's temporary file, hashed on the fly), cut off above
``MAX_UPLOAD_BYTES`` (413) or when the client stops sending for ``API_BODY_TIMEOUT_SECONDS``
(408), then published create-only; nothing is kept after a failure or a disconnect."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Final

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from clean_my_data.jobs.inputs import InputTooLargeError, PendingInput
from clean_my_data.web.problems import ProblemError
from outbox.jobs.model import JobInput
from outbox.settings import Settings
from relay.stores.base import ObjectStore

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


async def _copy_body(chunks: AsyncIterator[bytes], pending: PendingInput, timeout: float) -> None:
    """Every chunk into ``pending``; 408 when none arrives for ``timeout`` seconds (one timer
    moved along, not a task per chunk)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(loop.time() + timeout) as deadline:
            async for chunk in chunks:
                pending.write(chunk)
                deadline.reschedule(loop.time() + timeout)
    except TimeoutError:
        raise ProblemError(
            408,
            f"the request body stalled for more than {timeout:g} s",
            kind="body-timeout",
            headers={"Connection": "close"},
        ) from None
    except InputTooLargeError as exc:
        raise _too_large(pending.max_bytes) from exc


def raw_file_name(request: Request, given: str | None) -> str:
    if given:
        return given
    match = _FILENAME.search(request.headers.get("content-disposition", ""))
    return match.group(1) if match else "input.csv"


async def receive_raw(
    request: Request, store: ObjectStore, settings: Settings, name: str
) -> JobInput:
    """The body, written to the store as it arrives, then published."""
    with PendingInput(store, settings, name) as pending:
        await _copy_body(request.stream(), pending, settings.api_body_timeout_seconds)
        return await run_in_threadpool(pending.publish)


async def _read_parts(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(READ_CHUNK_BYTES):
        yield chunk


async def receive_multipart(request: Request, store: ObjectStore, settings: Settings) -> JobInput:
    """The one file part (field ``file``), written to the store, then published."""
    timeout = settings.api_body_timeout_seconds
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
        with PendingInput(store, settings, upload.filename or "input.csv") as pending:
            await _copy_body(_read_parts(upload), pending, timeout)
            return await run_in_threadpool(pending.publish)
    finally:
        await form.close()
