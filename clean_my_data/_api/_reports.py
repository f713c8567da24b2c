"""Stored final objects and fresh presigned URLs for their downloads."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, cast

import sqlalchemy as sa

from clean_my_data._api._database import database
from clean_my_data._api._settings import resolve_settings
from clean_my_data._api._translate import translated
from clean_my_data._api._types import FinalObject
from clean_my_data._errors import NotFoundError, NotUploadedError
from outbox.reports import require_report
from outbox.settings import Settings
from outbox.tables import UPLOADED, downloads
from relay.presign import build_presigner

Presign = Callable[[str], str]


def render_report(stored: Mapping[str, Any], presign: Presign | None = None) -> dict[str, Any]:
    """A copy of ``stored``; with ``presign``, each uploaded download entry gets a fresh
    ``presigned_url`` (``presign`` receives the entry's ``s3_path``)."""
    rendered = copy.deepcopy(dict(stored))
    entries = rendered.get("report", {}).get("downloads", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        entry.pop("presigned_url", None)
        if presign is not None and entry.get("status") == UPLOADED and entry.get("s3_path"):
            entry["presigned_url"] = presign(str(entry["s3_path"]))
    return rendered


def get_report(
    analysis_id: str,
    *,
    presign: bool = False,
    settings: Settings | None = None,
    engine: sa.Engine | None = None,
) -> FinalObject:
    """The stored final object of ``analysis_id`` with its downloads' current statuses; with
    ``presign``, each ``uploaded`` entry gets a ``presigned_url`` valid
    ``PRESIGN_TTL_SECONDS`` (minted now, never stored).

    Raises :class:`NotFoundError` (no such analysis), :class:`ConfigurationError` (a stored
    location is not in the configured store), :class:`DatabaseError`, :class:`StorageError`.
    """
    with translated():
        resolved = resolve_settings(settings)
        with database(resolved, engine) as active:
            stored = require_report(active, analysis_id)
        presigner = build_presigner(resolved) if presign else None
        return cast(FinalObject, render_report(stored, presigner))


def presign_download(
    download_id: str, *, settings: Settings | None = None, engine: sa.Engine | None = None
) -> str:
    """A fresh presigned GET URL (valid ``PRESIGN_TTL_SECONDS``) for an uploaded download.

    Raises :class:`NotFoundError` (no such download), :class:`NotUploadedError` (it is
    ``pending`` or ``upload_failed``), :class:`ConfigurationError`, :class:`DatabaseError`,
    :class:`StorageError`.
    """
    with translated():
        resolved = resolve_settings(settings)
        with database(resolved, engine) as active, active.connect() as conn:
            row = conn.execute(
                sa.select(downloads.c.status, downloads.c.s3_path).where(
                    downloads.c.download_id == download_id
                )
            ).first()
        if row is None:
            raise NotFoundError(f"no download {download_id!r}")
        if row.status != UPLOADED:
            raise NotUploadedError(f"download {download_id!r} is {row.status}, not uploaded")
        return build_presigner(resolved)(str(row.s3_path))
