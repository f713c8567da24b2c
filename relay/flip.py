"""Recording an attempt's outcome: atomically, guarded by the lease token.

In one transaction: the outbox row (done / retry at a time / dead), the ``downloads`` row and
the report JSON's entry (on success or terminal failure), and one appended history row. The
guard is ``id = :id AND lease_token = :token AND state = 'pending' AND lease_expires_at IS NOT
NULL``. A finished row keeps its token with the expiry cleared, so the guard matching nothing
tells two cases apart: the row still carries our token (a repeated flip: nothing changes) or it
does not (another relay took the lease over: ``lease_lost`` is logged and recorded in the
history, never an error). Outcomes that finish together may share one commit (group commit,
``flip_outcomes``); each stays atomic and guarded on its own. Successes of one claim (one lease
token) are flipped with set-based statements: one guarded UPDATE of their outbox rows, one of
their downloads, one multi-row history INSERT; only the report entries go one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import structlog

from outbox.clock import utcnow
from outbox.reports import update_download_entry
from outbox.tables import (
    EVENT_UPLOAD,
    OUTBOX_DEAD,
    OUTBOX_DONE,
    OUTBOX_PENDING,
    OUTCOME_LEASE_LOST,
    OUTCOME_RETRY,
    UPLOAD_FAILED,
    UPLOADED,
    downloads,
    outbox,
    outbox_attempts,
)
from relay.records import AttemptReport, ClaimedRecord

log = structlog.get_logger()

MAX_TRANSACTION_ATTEMPTS = 3
_LOCK_CONFLICTS = frozenset({1205, 1213})  # MySQL: lock wait timeout, deadlock


class FlipResult(StrEnum):
    APPLIED = "applied"
    REPEATED = "repeated"  # this lease already recorded its outcome: nothing changed
    LEASE_LOST = "lease_lost"  # another relay holds the row now: history only


@dataclass(frozen=True)
class _Plan:
    state: str
    download_status: str | None  # None: the download stays pending (a retry)
    available_at: Any


def _plan(report: AttemptReport) -> _Plan:
    if report.succeeded:
        return _Plan(OUTBOX_DONE, UPLOADED, None)
    if report.outcome == OUTCOME_RETRY:
        return _Plan(OUTBOX_PENDING, None, report.retry_at)
    return _Plan(OUTBOX_DEAD, UPLOAD_FAILED, None)


def _history_row(
    record: ClaimedRecord, report: AttemptReport, actor: str, outcome: str, reason: str | None
) -> dict[str, Any]:
    return {
        "outbox_id": record.outbox_id,
        "download_id": record.download_id,
        "analysis_id": record.analysis_id,
        "event": EVENT_UPLOAD,
        "attempt": record.attempt,
        "actor": actor[:128],
        "started_at": report.started_at,
        "duration_ms": report.duration_ms,
        "bytes": report.bytes_sent,
        "outcome": outcome,
        "error_class": report.error_class,
        "error_message": report.error_message,
        "object_key": record.object_key,
        "etag": report.etag,
        "reason": reason,
        "recorded_at": utcnow(),
    }


def _guard(record: ClaimedRecord) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.id == record.outbox_id,
        outbox.c.lease_token == record.lease_token,
        outbox.c.state == OUTBOX_PENDING,
        outbox.c.lease_expires_at.is_not(None),
    )


def _apply(conn: sa.Connection, record: ClaimedRecord, report: AttemptReport, actor: str) -> bool:
    plan = _plan(report)
    now = utcnow()
    values: dict[str, Any] = {
        "state": plan.state,
        "lease_expires_at": None,
        "lease_owner": None,
        "last_error_class": report.error_class,
        "last_error": report.error_message,
        "updated_at": now,
    }
    if plan.state == OUTBOX_PENDING:
        values["available_at"] = plan.available_at
    else:
        values["finished_at"] = now
    if conn.execute(outbox.update().where(_guard(record)).values(**values)).rowcount == 0:
        return False
    download_values: dict[str, Any] = {"last_error": report.error_message, "updated_at": now}
    if plan.download_status is not None:
        download_values["status"] = plan.download_status
    conn.execute(
        downloads.update()
        .where(downloads.c.download_id == record.download_id)
        .values(**download_values)
    )
    if plan.download_status is not None:
        update_download_entry(
            conn,
            record.analysis_id,
            record.download_id,
            plan.download_status,
            error=report.error_message if plan.download_status == UPLOAD_FAILED else None,
        )
    conn.execute(
        outbox_attempts.insert().values(_history_row(record, report, actor, report.outcome, None))
    )
    return True


def _still_ours(conn: sa.Connection, record: ClaimedRecord) -> bool:
    token = conn.execute(
        sa.select(outbox.c.lease_token).where(outbox.c.id == record.outbox_id)
    ).scalar_one_or_none()
    return token == record.lease_token


def _resolve_not_applied(
    conn: sa.Connection, record: ClaimedRecord, report: AttemptReport, actor: str
) -> FlipResult:
    """The guard matched nothing: a repeated flip, or a lease lost to another relay."""
    if _still_ours(conn, record):
        return FlipResult.REPEATED
    reason = f"lease taken over before this attempt's {report.outcome} was recorded"
    conn.execute(
        outbox_attempts.insert().values(
            _history_row(record, report, actor, OUTCOME_LEASE_LOST, reason)
        )
    )
    return FlipResult.LEASE_LOST


def _flip_one(
    conn: sa.Connection, record: ClaimedRecord, report: AttemptReport, actor: str
) -> FlipResult:
    if _apply(conn, record, report, actor):
        return FlipResult.APPLIED
    return _resolve_not_applied(conn, record, report, actor)


def _apply_successes(
    conn: sa.Connection, items: Sequence[tuple[ClaimedRecord, AttemptReport]], actor: str
) -> set[int]:
    """The common case in few statements: successes of one lease token are flipped by one
    guarded UPDATE (the rows it matched are read back only when it did not match them all),
    one UPDATE of their downloads and one multi-row history INSERT; the report entries are
    updated one by one. Returns the outbox ids applied."""
    now = utcnow()
    token = items[0][0].lease_token
    ids = [record.outbox_id for record, _ in items]
    matched = conn.execute(
        outbox.update()
        .where(
            outbox.c.id.in_(ids),
            outbox.c.lease_token == token,
            outbox.c.state == OUTBOX_PENDING,
            outbox.c.lease_expires_at.is_not(None),
        )
        .values(
            state=OUTBOX_DONE,
            lease_expires_at=None,
            lease_owner=None,
            last_error_class=None,
            last_error=None,
            updated_at=now,
            finished_at=now,
        )
    ).rowcount
    if matched == len(ids):
        applied = set(ids)
    elif matched == 0:
        return set()
    else:
        applied = set(
            conn.execute(
                sa.select(outbox.c.id).where(
                    outbox.c.id.in_(ids),
                    outbox.c.lease_token == token,
                    outbox.c.state == OUTBOX_DONE,
                    outbox.c.finished_at == now,
                )
            ).scalars()
        )
    chosen = [(record, report) for record, report in items if record.outbox_id in applied]
    if not chosen:
        return applied
    conn.execute(
        downloads.update()
        .where(downloads.c.download_id.in_([record.download_id for record, _ in chosen]))
        .values(status=UPLOADED, last_error=None, updated_at=now)
    )
    for record, _ in chosen:
        update_download_entry(conn, record.analysis_id, record.download_id, UPLOADED)
    conn.execute(
        outbox_attempts.insert(),
        [_history_row(record, report, actor, report.outcome, None) for record, report in chosen],
    )
    return applied


def _flip_group(
    conn: sa.Connection, finished: Sequence[tuple[ClaimedRecord, AttemptReport]], actor: str
) -> dict[int, FlipResult]:
    """Results by position in ``finished``; records are taken in analysis order."""
    ordered = sorted(
        range(len(finished)),
        key=lambda i: (finished[i][0].analysis_id, finished[i][0].outbox_id),
    )
    results: dict[int, FlipResult] = {}
    successes: dict[str, list[int]] = {}
    for i in ordered:
        record, report = finished[i]
        if report.succeeded:
            successes.setdefault(record.lease_token, []).append(i)
        else:
            results[i] = _flip_one(conn, record, report, actor)
    for positions in successes.values():
        applied = _apply_successes(conn, [finished[i] for i in positions], actor)
        for i in positions:
            record, report = finished[i]
            results[i] = (
                FlipResult.APPLIED
                if record.outbox_id in applied
                else _resolve_not_applied(conn, record, report, actor)
            )
    return results


def _is_lock_conflict(exc: sa.exc.DBAPIError) -> bool:
    args: tuple[Any, ...] = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in _LOCK_CONFLICTS


def flip_outcomes(
    engine: sa.Engine, finished: Sequence[tuple[ClaimedRecord, AttemptReport]], *, actor: str
) -> list[FlipResult]:
    """Record several finished attempts (see the module docstring).

    Each outcome is applied atomically and guarded on its own; outcomes that finished together
    share the commit (group commit: one log flush for many records instead of one each).
    Records are taken in ``analysis_id, outbox_id`` order so that concurrent relays lock report
    rows in the same order; a deadlock or lock-wait timeout retries the whole group.
    """
    for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                results = _flip_group(conn, finished, actor)
            break
        except sa.exc.DBAPIError as exc:
            if attempt == MAX_TRANSACTION_ATTEMPTS or not _is_lock_conflict(exc):
                raise
            log.info("flip_retried", attempt=attempt, error=str(exc.orig).splitlines()[0])
    flips = [results[i] for i in range(len(finished))]
    for (record, report), flip in zip(finished, flips, strict=True):
        if flip is FlipResult.REPEATED:
            log.info("flip_repeated", outbox_id=record.outbox_id, outcome=report.outcome)
        elif flip is FlipResult.LEASE_LOST:
            log.warning(
                "lease_lost",
                outbox_id=record.outbox_id,
                download_id=record.download_id,
                attempt=record.attempt,
                finished_with=report.outcome,
                error_class=report.error_class,
            )
    return flips


def flip_outcome(
    engine: sa.Engine, record: ClaimedRecord, report: AttemptReport, *, actor: str
) -> FlipResult:
    """Record one finished attempt (see the module docstring)."""
    (flip,) = flip_outcomes(engine, [(record, report)], actor=actor)
    return flip
