"""clean-my-data: find and fix data-quality problems; deliver artifacts through an outbox.

The public Python API (everything else is private)::

    import clean_my_data

    final = clean_my_data.analyze_and_commit("sales.csv")   # stage, then one transaction
    clean_my_data.relay_once()                              # upload what is staged
    report = clean_my_data.get_report(final["analysis_id"], presign=True)

Errors derive from :class:`CleanMyDataError`; each carries a one-line message and the exit code
the command line gives it.
"""

from clean_my_data._api._analyze import analyze, analyze_and_commit, analyze_inline
from clean_my_data._api._audit import (
    RequeueReport,
    delete_superseded_objects,
    history,
    relay_once,
    requeue,
    verify,
)
from clean_my_data._api._reports import get_report, presign_download
from clean_my_data._api._types import FinalObject, InTransaction
from clean_my_data._errors import (
    CleanMyDataError,
    ConfigurationError,
    DatabaseError,
    InputError,
    NotFoundError,
    NotUploadedError,
    StorageError,
    UsageError,
)
from clean_my_data.logging_setup import configure_logging
from outbox.audit.history import HistoryEntry
from outbox.audit.requeue import RequeueOutcome, Verdict
from outbox.settings import Settings
from outbox.version import package_version as _package_version
from relay.verify import Problem, VerifyResult

__version__ = _package_version()

__all__ = [
    "CleanMyDataError",
    "ConfigurationError",
    "DatabaseError",
    "FinalObject",
    "HistoryEntry",
    "InTransaction",
    "InputError",
    "NotFoundError",
    "NotUploadedError",
    "Problem",
    "RequeueOutcome",
    "RequeueReport",
    "Settings",
    "StorageError",
    "UsageError",
    "Verdict",
    "VerifyResult",
    "__version__",
    "analyze",
    "analyze_and_commit",
    "analyze_inline",
    "configure_logging",
    "delete_superseded_objects",
    "get_report",
    "history",
    "presign_download",
    "relay_once",
    "requeue",
    "verify",
]
