"""One mapping from the layers' errors to the public exceptions of :mod:`clean_my_data._errors`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc

from clean_my_data._errors import (
    CleanMyDataError,
    ConfigurationError,
    DatabaseError,
    InputError,
    NotFoundError,
    StorageError,
    UsageError,
)
from domain import errors as domain_errors
from domain.downloads.bounded_sink import InlineLimitError
from outbox import db, migrations, persist, staging
from outbox.audit.timespec import TimeSpecError
from outbox.reports import UnknownAnalysisError
from outbox.settings import SettingsError
from relay.presign import PresignError
from relay.stores.base import StoreError

_PUBLIC: tuple[tuple[type[Exception], type[CleanMyDataError]], ...] = (
    (domain_errors.InputError, InputError),
    (InlineLimitError, InputError),
    (persist.InvalidAnalysisIdError, UsageError),
    (TimeSpecError, UsageError),
    (UnknownAnalysisError, NotFoundError),
    (persist.PersistError, DatabaseError),
    (db.DatabaseError, DatabaseError),
    (migrations.MigrationError, DatabaseError),
    (staging.StagingError, StorageError),
    (PresignError, ConfigurationError),
    (SettingsError, ConfigurationError),
)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def public_error(exc: Exception) -> CleanMyDataError | None:
    """The public exception for ``exc``, or None when ``exc`` is not one of the layers' errors
    (a caller's own exception, a bug: those propagate unchanged)."""
    if isinstance(exc, CleanMyDataError):
        return exc
    for source, target in _PUBLIC:
        if isinstance(exc, source):
            return target(first_line(exc))
    if isinstance(exc, StoreError):
        return StorageError(
            f"cannot use the object store ({exc.error_class.value}): {first_line(exc)}"
        )
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        detail = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
        return DatabaseError(f"database error: {detail}")
    if isinstance(exc, domain_errors.UserFacingError):
        error = CleanMyDataError(first_line(exc))
        error.exit_code = exc.exit_code
        return error
    return None


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise the layers' errors as public ones (``from`` the original)."""
    try:
        yield
    except Exception as exc:
        public = public_error(exc)
        if public is None or public is exc:
            raise
        raise public from exc
