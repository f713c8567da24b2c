"""Fresh presigned GET URLs for ``report --presign``: minted on request, never stored."""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import UserFacingError
from outbox.settings import Settings
from relay.stores import open_store


class PresignError(UserFacingError):
    """A stored location does not belong to the configured object store."""


def build_presigner(settings: Settings) -> Callable[[str], str]:
    """``presign(s3_path) -> url`` valid for PRESIGN_TTL_SECONDS (capped at 7 days)."""
    store = open_store(settings)
    ttl = settings.presign_ttl_seconds

    def presign(location: str) -> str:
        key = store.key_of(location)
        if key is None:
            raise PresignError(
                f"{location} is not in the configured store {settings.artifact_store_url} "
                "(ARTIFACT_STORE_URL changed since it was uploaded?)"
            )
        return store.presign_get(key, ttl)

    return presign
