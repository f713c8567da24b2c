"""Checks the relay makes before claiming any record: a store that cannot work is a
configuration error (one line, exit 2), not a failure recorded against every download."""

from __future__ import annotations

from outbox.settings import Settings, SettingsError
from relay.stores.base import ErrorClass, ObjectStore, StoreError


def check_store(store: ObjectStore, settings: Settings) -> None:
    """Raise SettingsError when the configured bucket does not exist. One listing request;
    any other failure (unreachable, listing not allowed) is left to the uploads, which
    classify and retry it."""
    location = settings.store
    if not location.is_s3:
        return
    prefix = f"{location.prefix}/" if location.prefix else ""
    try:
        next(iter(store.iter_objects(prefix)), None)
    except StoreError as exc:
        if exc.error_class is ErrorClass.NO_SUCH_BUCKET:
            raise SettingsError(
                f"ARTIFACT_STORE_URL {settings.artifact_store_url}: the bucket "
                f"{location.bucket!r} does not exist"
            ) from None
