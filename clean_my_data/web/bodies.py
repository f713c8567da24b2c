"""Every request body but an input upload is small (a page form, a JSON document of a few
fields): at most :data:`SMALL_BODY_MAX_BYTES`. A plain ASGI middleware answers 413 before a byte
is read when the declared length is larger, and stops a body without one as soon as it passes
the cap, so no request can make the server hold a large body in memory or spool it to disk.
Uploads (told apart by the caller's predicate) are capped by ``MAX_UPLOAD_BYTES`` where they are
written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clean_my_data.web.problems import problem_response

SMALL_BODY_MAX_BYTES: Final = 64 * 1024
TOO_LARGE: Final = f"the request body is larger than {SMALL_BODY_MAX_BYTES:,} bytes"

IsUpload = Callable[[Scope], bool]


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class _SmallBodies:
    def __init__(self, app: ASGIApp, is_upload: IsUpload) -> None:
        self._app = app
        self._is_upload = is_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_upload(scope):
            await self._app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > SMALL_BODY_MAX_BYTES:
            refusal = problem_response(
                413, TOO_LARGE, instance=scope.get("path"), headers={"Connection": "close"}
            )
            await refusal(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > SMALL_BODY_MAX_BYTES:
                    raise HTTPException(413, TOO_LARGE, headers={"Connection": "close"})
            return message

        await self._app(scope, counted, send)


def install_body_limit(app: FastAPI, is_upload: IsUpload) -> None:
    """Cap every request body of ``app`` but those ``is_upload`` tells apart."""
    app.add_middleware(_SmallBodies, is_upload=is_upload)
