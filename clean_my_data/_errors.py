"""The exceptions the public API raises, and the exit code the CLI gives each.

Every error of :mod:`clean_my_data` derives from :class:`CleanMyDataError`; its message is one
line meant for a person, and ``exit_code`` is what ``clean-my-data`` exits with:

- :class:`InputError` (65, ``EX_DATAERR``): the input data cannot be analysed;
- :class:`UsageError` (2): an argument is malformed (analysis id, filter, output path);
- :class:`ConfigurationError` (78, ``EX_CONFIG``): the settings are invalid or inconsistent;
- :class:`NotFoundError` (1): no such analysis or download;
- :class:`NotUploadedError` (1): the download exists but is not in the object store yet;
- :class:`DatabaseError` (69, ``EX_UNAVAILABLE``): the database is unreachable, not migrated,
  or refused the commit;
- :class:`StorageError` (69, ``EX_UNAVAILABLE``): the staging directory or the object store
  cannot be used.

Exit code 1 is otherwise "a failure was found" (``verify`` found problems, ``requeue`` could not
requeue everything selected), so a script can tell it from a service it could not reach.
"""

from __future__ import annotations

from typing import Final

EX_DATAERR: Final = 65
EX_UNAVAILABLE: Final = 69
EX_CONFIG: Final = 78


class CleanMyDataError(Exception):
    """Base of every error the public API raises."""

    exit_code: int = 1


class InputError(CleanMyDataError):
    """The input data cannot be analysed (missing, empty, binary, not tabular, too large for
    the inline path)."""

    exit_code = EX_DATAERR


class UsageError(CleanMyDataError):
    """An argument is malformed (an analysis id, a filter, an output path)."""

    exit_code = 2


class ConfigurationError(CleanMyDataError):
    """The settings are invalid, or a stored location does not match the configured store."""

    exit_code = EX_CONFIG


class NotFoundError(CleanMyDataError):
    """No analysis or download is stored under the given id."""


class NotUploadedError(CleanMyDataError):
    """The download exists but is not ``uploaded`` (still ``pending``, or ``upload_failed``)."""


class DatabaseError(CleanMyDataError):
    """The database is unreachable, not migrated, or refused the commit."""

    exit_code = EX_UNAVAILABLE


class StorageError(CleanMyDataError):
    """The staging directory or the object store cannot be used."""

    exit_code = EX_UNAVAILABLE
