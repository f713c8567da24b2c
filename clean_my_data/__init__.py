"""clean-my-data: find and fix data-quality problems; deliver artifacts through an outbox.

The public Python API (everything else is private)::

    import clean_my_data

    final = clean_my_data.analyze_and_commit("sales.csv")      # stage, then one transaction
    report = clean_my_data.get_report(final["analysis_id"])    # current download statuses

Errors derive from :class:`CleanMyDataError`; each carries a one-line message and the exit code
the command line gives it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from clean_my_data._api._analyze import analyze, analyze_and_commit, analyze_inline
from clean_my_data._api._types import FinalObject, InTransaction
from clean_my_data._errors import (
    CleanMyDataError,
    ConfigurationError,
    DatabaseError,
    InputError,
    NotFoundError,
    StorageError,
    UsageError,
)
from outbox.settings import Settings

try:
    __version__ = version("clean-my-data")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CleanMyDataError",
    "ConfigurationError",
    "DatabaseError",
    "FinalObject",
    "InTransaction",
    "InputError",
    "NotFoundError",
    "Settings",
    "StorageError",
    "UsageError",
    "__version__",
    "analyze",
    "analyze_and_commit",
    "analyze_inline",
]
