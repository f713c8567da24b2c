"""Small request bodies (page forms, JSON documents) read with a cap, so that no request can make
the server hold a large body in memory: the declared length is checked before a byte is read,
and a body without one is read only until it passes the cap."""

from __future__ import annotations

from typing import Final

from fastapi import Request

SMALL_BODY_MAX_BYTES: Final = 64 * 1024  # a page form or a JSON document of a few fields


class BodyTooLargeError(Exception):
    """The body is (or declares itself) larger than the cap."""


async def read_small_body(request: Request, limit: int = SMALL_BODY_MAX_BYTES) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)
