"""Direct uploads (S3 stores): the browser sends the file to the store itself.

``POST /api/v1/uploads`` answers a presigned POST whose policy fixes the object key (in the
``inputs/`` area), a ``content-length-range`` of 1 to the declared size, the declared sha256
as object metadata, and a short expiry. ``POST /api/v1/analyses`` with
``{"upload_id": ...}`` then queues the job for that object; the worker verifies the bytes
against the declared sha256 when it reads them. An upload that never becomes a job is swept
with the other unreferenced inputs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

import structlog
from fastapi import FastAPI, Request
from fastapi.datastructures import State
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clean_my_data.jobs.inputs import inputs_prefix, new_input_key, safe_file_name
from clean_my_data.web.auth import Submitter
from clean_my_data.web.problems import ProblemError
from outbox.jobs.model import JobInput
from outbox.settings import Settings
from relay.stores.base import ObjectStore, StoreError

API: Final = "/api/v1"
log = structlog.get_logger()
UPLOAD_TTL_SECONDS: Final = 600
UPLOAD_ID: Final = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{16}$")


class UploadRequestBody(BaseModel):
    file_name: str = Field(min_length=1, max_length=255)
    size_bytes: int = Field(gt=0)
    sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class UploadedInput(BaseModel):
    upload_id: str = Field(min_length=1, max_length=64)
    file_name: str = Field(min_length=1, max_length=255)


def register(app: FastAPI, settings: Settings, store: ObjectStore) -> None:
    @app.post(f"{API}/uploads", status_code=201, tags=["analyses"])
    async def create_upload(body: UploadRequestBody, principal: Submitter) -> dict[str, Any]:
        """A presigned POST for one input of ``size_bytes`` (at most ``MAX_UPLOAD_BYTES``);
        send the form fields and then the file (field ``file``) to ``url``."""
        del principal
        if body.size_bytes > settings.max_upload_bytes:
            raise ProblemError(
                413,
                f"the input is larger than {settings.max_upload_bytes:,} bytes (MAX_UPLOAD_BYTES)",
                kind="input-too-large",
            )
        key = new_input_key(settings)
        post = await run_in_threadpool(
            store.presign_post,
            key,
            max_bytes=body.size_bytes,
            sha256=body.sha256,
            ttl_seconds=UPLOAD_TTL_SECONDS,
        )
        if post is None:
            raise ProblemError(
                409,
                "direct uploads need an S3 artifact store; send the file to "
                "POST /api/v1/analyses instead",
                kind="direct-upload-unavailable",
            )
        url, fields = post
        return {
            "upload_id": key.rsplit("/", 1)[-1],
            "url": url,
            "fields": fields,
            "expires_in": UPLOAD_TTL_SECONDS,
        }


def direct_upload_origin(app: FastAPI) -> str | None:
    """The origin (``scheme://host[:port]``) the browser sends direct uploads to, None when the
    store takes none or cannot sign (the page then uploads through the API); read once from a
    presigned POST (signing is local, nothing is sent)."""
    state: State = app.state
    if not hasattr(state, "direct_upload_origin"):
        store: ObjectStore = state.store
        try:
            post = store.presign_post(
                "inputs/.origin-probe", max_bytes=1, sha256="0" * 64, ttl_seconds=60
            )
        except Exception as exc:  # noqa: BLE001 (logged; the page falls back to the API)
            log.warning("direct_upload_unavailable", error=f"{type(exc).__name__}: {exc}")
            post = None
        parts = None if post is None else urlsplit(post[0])
        state.direct_upload_origin = None if parts is None else f"{parts.scheme}://{parts.netloc}"
    origin: str | None = state.direct_upload_origin
    return origin


async def uploaded_input(
    request: Request, settings: Settings, store: ObjectStore
) -> tuple[JobInput, str]:
    """The stored object a ``{"upload_id": ..., "file_name": ...}`` body names."""
    try:
        body = UploadedInput.model_validate_json(await request.body())
    except ValueError:
        raise ProblemError(
            422,
            'a JSON body must be {"upload_id": ..., "file_name": ...}',
            kind="invalid-request",
        ) from None
    if not UPLOAD_ID.fullmatch(body.upload_id):
        raise ProblemError(404, f"no upload {body.upload_id!r}", kind="not-found")
    key = inputs_prefix(settings) + body.upload_id
    try:
        info = await run_in_threadpool(store.head, key)
    except StoreError as exc:
        raise ProblemError(503, f"cannot read the store: {exc}", kind="store-unavailable") from None
    if info is None or not info.sha256:
        raise ProblemError(404, f"no upload {body.upload_id!r}", kind="not-found")
    name = safe_file_name(body.file_name)
    return JobInput(key=key, name=name, size=info.size_bytes, sha256=info.sha256), name
