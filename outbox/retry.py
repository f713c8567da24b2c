"""The one retry loop for transactions that lose a lock conflict (MySQL deadlock 1213, lock
wait timeout 1205): the whole transaction is run again, up to ``attempts`` times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import sqlalchemy as sa
import structlog

LOCK_CONFLICT_ERRORS: Final = frozenset({1205, 1213})  # lock wait timeout, deadlock
DEFAULT_ATTEMPTS: Final = 5

T = TypeVar("T")

log = structlog.get_logger()


def is_lock_conflict(exc: sa.exc.DBAPIError) -> bool:
    """True for a deadlock or a lock wait timeout (the transaction was rolled back)."""
    args: tuple[Any, ...] = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in LOCK_CONFLICT_ERRORS


def retry_on_lock_conflict(
    transaction: Callable[[], T],
    *,
    event: str,
    attempts: int = DEFAULT_ATTEMPTS,
    **log_fields: object,
) -> T:
    """Run ``transaction`` (one complete transaction) until it commits; a lock conflict runs it
    again (logged as ``event``), any other error, or the last conflict, propagates."""
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except sa.exc.DBAPIError as exc:
            if attempt == attempts or not is_lock_conflict(exc):
                raise
            log.info(event, attempt=attempt, error=str(exc.orig).splitlines()[0], **log_fields)
    raise AssertionError("unreachable: the last attempt returns or raises")
