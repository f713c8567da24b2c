"""The exceptions the public API raises, and the exit code the CLI gives each.

Every error of :mod:`clean_my_data` derives from :class:`CleanMyDataError`; its message is one
line meant for a person, and ``exit_code`` is what ``clean-my-data`` exits with:

- :class:`InputError` (65, ``EX_DATAERR``): the input data cannot be analysed;
- :class:`UsageError` (2): an argument is malformed (analysis id, filter, output path);
- :class:`ConfigurationError` (2): the settings are invalid or inconsistent;
- :class:`NotFoundError` (1): no such analysis or download;
- :class:`DatabaseError` (1): the database is unreachable, not migrated, or refused the commit;
- :class:`StorageError` (1): the staging directory or the object store cannot be used.
"""

from __future__ import annotations

from typing import Final

EX_DATAERR: Final = 65


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

    exit_code = 2


class NotFoundError(CleanMyDataError):
    """No analysis or download is stored under the given id."""


class DatabaseError(CleanMyDataError):
    """The database is unreachable, not migrated, or refused the commit."""


class StorageError(CleanMyDataError):
    """The staging directory or the object store cannot be used."""
