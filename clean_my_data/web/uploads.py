"""Receiving an input over HTTP: the body (raw, or one multipart file part parsed as it
arrives) streamed chunk by chunk into a :class:`PendingInput` (the store's temporary file, hashed
on the fly), cut off above ``MAX_UPLOAD_BYTES`` (413) or when the client stops sending for
``API_BODY_TIMEOUT_SECONDS`` (408), then published create-only; nothing is kept after a failure
or a disconnect."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Final

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from clean_my_data.jobs.inputs import InputTooLargeError, PendingInput
from clean_my_data.web.multipart import MultipartFile, multipart_boundary
from clean_my_data.web.problems import ProblemError
from outbox.jobs.model import JobInput
from outbox.settings import Settings
from relay.stores.base import ObjectStore

MULTIPART_OVERHEAD_BYTES: Final = 64 * 1024
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


async def _copy_body(
    chunks: AsyncIterator[bytes], write: Callable[[bytes], None], timeout: float, limit: int
) -> None:
    """Every chunk to ``write``; 408 when none arrives for ``timeout`` seconds (one timer
    moved along, not a task per chunk), 413 when ``write`` finds the input over ``limit``."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(loop.time() + timeout) as deadline:
            async for chunk in chunks:
                write(chunk)
                deadline.reschedule(loop.time() + timeout)
    except TimeoutError:
        raise ProblemError(
            408,
            f"the request body stalled for more than {timeout:g} s",
            kind="body-timeout",
            headers={"Connection": "close"},
        ) from None
    except InputTooLargeError as exc:
        raise _too_large(limit) from exc


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
        await _copy_body(
            request.stream(),
            pending.write,
            settings.api_body_timeout_seconds,
            settings.max_upload_bytes,
        )
        return await run_in_threadpool(pending.publish)


async def receive_multipart(request: Request, store: ObjectStore, settings: Settings) -> JobInput:
    """The one file part (field ``file``), written to the store as the body arrives, then
    published."""
    boundary = multipart_boundary(request.headers.get("content-type", ""))

    def open_input(file_name: str) -> PendingInput:
        return PendingInput(store, settings, file_name)

    with MultipartFile(boundary, open_input) as body:
        await _copy_body(
            request.stream(),
            body.write,
            settings.api_body_timeout_seconds,
            settings.max_upload_bytes,
        )
        pending = body.finish()
        return await run_in_threadpool(pending.publish)
