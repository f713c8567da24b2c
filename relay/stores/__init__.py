"""Object stores: the port (``base``), S3 (``s3``) and a local directory (``local``)."""

from __future__ import annotations

from pathlib import Path

from outbox.settings import Settings
from relay.stores.base import ObjectStore


def open_store(settings: Settings) -> ObjectStore:
    """The adapter for ``ARTIFACT_STORE_URL`` (``s3://`` or ``file://``)."""
    location = settings.store
    if location.is_s3:
        from relay.stores.s3 import S3Store  # boto3 is imported only for S3 stores

        return S3Store.from_settings(settings)
    from relay.stores.local import LocalStore

    return LocalStore(Path(location.bucket))
