"""The audit operations: the outbox history, requeueing failed downloads, and verify."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from clean_my_data._api._database import database
from clean_my_data._api._settings import resolve_settings
from clean_my_data._api._translate import first_line, translated
from clean_my_data._errors import NotFoundError, UsageError
from outbox import tables as t
from outbox.audit.history import OUTCOMES, HistoryEntry, HistoryFilter, iter_history
from outbox.audit.requeue import (
    RequeueError,
    RequeueOutcome,
    Selection,
    Verdict,
    describe_operator,
    requeue_downloads,
)
from outbox.audit.timespec import parse_since
from outbox.clock import to_naive_utc
from outbox.settings import Settings
from relay.daemon import run_once
from relay.stores import open_store
from relay.verify import VerifyOptions, VerifyResult
from relay.verify import verify as run_verify

_BLOCKING = frozenset({Verdict.REGENERATE, Verdict.OTHER_VOLUME})


@dataclass(frozen=True)
class RequeueReport:
    """One outcome per download considered."""

    outcomes: tuple[RequeueOutcome, ...]

    @property
    def complete(self) -> bool:
        """Every selected failed download was requeued (or would be, in a dry run); False when
        some could not be (staged file gone or on another volume: see each ``detail``)."""
        return not any(o.verdict in _BLOCKING for o in self.outcomes)


def _since(value: datetime | str | None) -> datetime | None:
    """Naive UTC from a datetime (naive means UTC), ISO 8601 or an age (``30m``, ``2h``...)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_naive_utc(value)
    return parse_since(value)


def history(
    *,
    analysis_id: str | None = None,
    download_id: str | None = None,
    status: str | None = None,
    outcome: str | None = None,
    since: datetime | str | None = None,
    settings: Settings | None = None,
    engine: sa.Engine | None = None,
) -> Iterator[HistoryEntry]:
    """Every upload attempt and operator action of the append-only outbox history, oldest
    first, streamed; the filters combine. ``status``: the download's current status
    (``pending``, ``uploaded``, ``upload_failed``); ``outcome``: the attempt's outcome.

    Raises :class:`UsageError` (unknown status or outcome, unreadable ``since``) and
    :class:`ConfigurationError` on the call; :class:`DatabaseError` while iterating.
    """
    with translated():
        if status is not None and status not in t.DOWNLOAD_STATUSES:
            raise UsageError(f"status {status!r}: expected one of {', '.join(t.DOWNLOAD_STATUSES)}")
        if outcome is not None and outcome not in OUTCOMES:
            raise UsageError(f"outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
        flt = HistoryFilter(
            analysis_id=analysis_id,
            download_id=download_id,
            status=status,
            outcome=outcome,
            since=_since(since),
        )
        resolved = resolve_settings(settings)
    return _stream(resolved, engine, flt)


def _stream(
    settings: Settings, engine: sa.Engine | None, flt: HistoryFilter
) -> Iterator[HistoryEntry]:
    with translated(), database(settings, engine) as active:
        yield from iter_history(active, flt)


def requeue(
    *,
    reason: str,
    download_id: str | None = None,
    analysis_id: str | None = None,
    failed: bool = False,
    since: datetime | str | None = None,
    error_class: str | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    settings: Settings | None = None,
    engine: sa.Engine | None = None,
) -> RequeueReport:
    """Put ``upload_failed`` downloads whose staged file is intact back in the queue (a fresh
    outbox record, status ``pending``, a history row with ``reason``). Select exactly one of
    ``download_id``, ``analysis_id``, ``failed`` (every failed download, narrowed by ``since``
    and ``error_class``). ``actor`` (default ``user@host``) is recorded in the history.

    Raises :class:`UsageError` (no or several selections, empty ``reason``, unreadable
    ``since``), :class:`NotFoundError` (the download or analysis does not exist),
    :class:`ConfigurationError`, :class:`DatabaseError`.
    """
    with translated():
        selection = Selection(
            download_id=download_id,
            analysis_id=analysis_id,
            failed=failed,
            since=_since(since),
            error_class=error_class,
        )
        try:
            selection.validate()
        except RequeueError as exc:
            raise UsageError(first_line(exc)) from exc
        if not reason.strip():
            raise UsageError("the reason must say why (it is recorded in the history)")
        resolved = resolve_settings(settings)
        with database(resolved, engine) as active:
            try:
                outcomes = requeue_downloads(
                    active,
                    resolved,
                    selection,
                    reason=reason,
                    actor=actor or describe_operator(),
                    dry_run=dry_run,
                )
            except RequeueError as exc:  # the selection is valid: it names nothing stored
                raise NotFoundError(first_line(exc)) from exc
        return RequeueReport(tuple(outcomes))


def verify(
    *, deep: bool = False, settings: Settings | None = None, engine: sa.Engine | None = None
) -> VerifyResult:
    """Reconcile the database, the staging directory and the object store; the result lists
    every problem found (``result.consistent`` when there is none). ``deep``: HEAD every
    uploaded object to compare its sha256 (default: only where the listing and the recorded
    ETag cannot vouch for it).

    Raises :class:`StorageError` (the object store cannot be read: nothing concluded),
    :class:`ConfigurationError`, :class:`DatabaseError`.
    """
    with translated():
        resolved = resolve_settings(settings)
        with database(resolved, engine) as active:
            return run_verify(
                active,
                open_store(resolved),
                resolved,
                VerifyOptions(deep=deep, head_concurrency=resolved.relay_concurrency * 2),
            )


def relay_once(*, settings: Settings | None = None) -> None:
    """Upload every staged download that is due now and flip its status (what the relay daemon
    does continuously), then sweep orphaned staged files. Failed uploads are recorded, not
    raised. Raises :class:`ConfigurationError`, :class:`DatabaseError`, :class:`StorageError`.
    """
    with translated():
        run_once(resolve_settings(settings))
