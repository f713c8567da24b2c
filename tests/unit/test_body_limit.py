"""Request bodies other than an input upload are refused above 64 KiB: a declared length before
the body is read, a body without one as soon as it passes the cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from clean_my_data.web.app import is_upload
from clean_my_data.web.bodies import SMALL_BODY_MAX_BYTES, install_body_limit
from clean_my_data.web.problems import install_problem_handlers

PROBLEM = "application/problem+json"


class Note(BaseModel):
    text: str


def _app() -> tuple[FastAPI, list[str]]:
    app = FastAPI()
    install_problem_handlers(app)
    install_body_limit(app, lambda scope: scope["path"] == "/upload")
    called: list[str] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        called.append("echo")
        return {"bytes": len(await request.body())}

    @app.post("/note")
    def note(body: Note) -> dict[str, int]:
        called.append("note")
        return {"chars": len(body.text)}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app, called


def _post(app: FastAPI, path: str, **kwargs: object) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(send())


async def _chunks(total: int, size: int = 16384) -> AsyncIterator[bytes]:
    """A body sent in pieces, without a Content-Length."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_small_bodies_pass() -> None:
    app, called = _app()
    answer = _post(app, "/echo", content=b"x" * SMALL_BODY_MAX_BYTES)
    assert answer.json() == {"bytes": SMALL_BODY_MAX_BYTES}
    assert _post(app, "/note", json={"text": "hello"}).json() == {"chars": 5}
    assert called == ["echo", "note"]


def test_a_declared_length_over_the_cap_is_refused_before_the_route_runs() -> None:
    app, called = _app()
    for path in ("/echo", "/note"):
        answer = _post(app, path, content=b"x" * (SMALL_BODY_MAX_BYTES + 1))
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith(PROBLEM)
    assert called == []


@pytest.mark.parametrize("path", ["/echo", "/note"])
def test_a_body_without_a_length_is_cut_off_past_the_cap(path: str) -> None:
    app, _ = _app()
    answer = _post(
        app, path, content=_chunks(SMALL_BODY_MAX_BYTES * 4), headers={"Content-Type": "text/plain"}
    )
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith(PROBLEM)


def test_uploads_are_not_capped_here() -> None:
    app, _ = _app()
    assert _post(app, "/upload", content=_chunks(1 << 20)).json() == {"bytes": 1 << 20}


@pytest.mark.parametrize(
    ("method", "path", "content_type", "upload"),
    [
        ("POST", "/api/v1/analyses", b"text/csv", True),
        ("POST", "/api/v1/analyses", b"multipart/form-data; boundary=x", True),
        ("POST", "/api/v1/analyses", b"", True),
        ("POST", "/api/v1/analyses", b"application/json; charset=utf-8", False),
        ("POST", "/api/v1/uploads", b"text/csv", False),
        ("POST", "/login", b"multipart/form-data; boundary=x", False),
        ("GET", "/api/v1/analyses", b"text/csv", False),
    ],
)
def test_only_a_submissions_file_body_is_an_upload(
    method: str, path: str, content_type: bytes, upload: bool
) -> None:
    scope = {"type": "http", "method": method, "path": path, "headers": []}
    if content_type:
        scope["headers"] = [(b"content-type", content_type)]
    assert is_upload(scope) is upload
