"""Recording an attempt's outcome: atomically, guarded by the lease token.

In one transaction: the outbox row (done / retry at a time / dead), the ``downloads`` row and
the report JSON's entry (on success or terminal failure), and one appended history row. The
guard is ``id = :id AND lease_token = :token AND state = 'pending' AND lease_expires_at IS NOT
NULL``. A finished row keeps its token with the expiry cleared, so the guard matching nothing
tells two cases apart: the row still carries our token (a repeated flip: nothing changes) or it
does not (another relay took the lease over: ``lease_lost`` is logged and recorded in the
history, never an error).

Outcomes that finish together share one commit (group commit, ``flip_outcomes``); each stays
atomic and guarded on its own, and the group is written table by table in the lock order the
transformer uses too (outbox, downloads, report): successes of one claim (one lease token) by
one guarded UPDATE of their outbox rows, failures one guarded UPDATE each; then one UPDATE of
the successes' downloads (one per failure); then the report entries of every analysis
concerned by one locking read and one write (``outbox.reports.update_download_entries``); then
one multi-row history INSERT. A group of successes costs about six round trips, whatever its
size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import structlog

from outbox.clock import utcnow
from outbox.reports import EntryChange, update_download_entries
from outbox.retry import retry_on_lock_conflict
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


Finished = Sequence[tuple[ClaimedRecord, AttemptReport]]


def _flip_outbox_row(
    conn: sa.Connection, record: ClaimedRecord, report: AttemptReport, now: datetime
) -> bool:
    """A failure's guarded outbox UPDATE (retry at a time, or dead); False when not ours."""
    plan = _plan(report)
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
    return conn.execute(outbox.update().where(_guard(record)).values(**values)).rowcount > 0


def _flip_successes_outbox(
    conn: sa.Connection, token: str, ids: list[int], now: datetime
) -> set[int]:
    """One guarded UPDATE for successes of one lease token; the rows it matched are read back
    only when it did not match them all. Returns the outbox ids applied."""
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
        return set(ids)
    if matched == 0:
        return set()
    return set(
        conn.execute(
            sa.select(outbox.c.id).where(
                outbox.c.id.in_(ids),
                outbox.c.lease_token == token,
                outbox.c.state == OUTBOX_DONE,
                outbox.c.finished_at == now,
            )
        ).scalars()
    )


def _flip_outbox_rows(conn: sa.Connection, finished: Finished, now: datetime) -> set[int]:
    """Step 1 (outbox rows, in analysis order): positions in ``finished`` that were applied."""
    ordered = sorted(
        range(len(finished)),
        key=lambda i: (finished[i][0].analysis_id, finished[i][0].outbox_id),
    )
    applied: set[int] = set()
    successes: dict[str, list[int]] = {}
    for i in ordered:
        record, report = finished[i]
        if report.succeeded:
            successes.setdefault(record.lease_token, []).append(i)
        elif _flip_outbox_row(conn, record, report, now):
            applied.add(i)
    for token, positions in successes.items():
        done = _flip_successes_outbox(
            conn, token, [finished[i][0].outbox_id for i in positions], now
        )
        applied.update(i for i in positions if finished[i][0].outbox_id in done)
    return applied


def _flip_downloads(conn: sa.Connection, applied: Finished, now: datetime) -> None:
    """Step 2: successes by one UPDATE, each failure by its own (it keeps its error)."""
    uploaded = sorted(record.download_id for record, report in applied if report.succeeded)
    if uploaded:
        conn.execute(
            downloads.update()
            .where(downloads.c.download_id.in_(uploaded))
            .values(status=UPLOADED, last_error=None, updated_at=now)
        )
    for record, report in sorted(applied, key=lambda item: item[0].download_id):
        if report.succeeded:
            continue
        values: dict[str, Any] = {"last_error": report.error_message, "updated_at": now}
        status = _plan(report).download_status
        if status is not None:
            values["status"] = status
        conn.execute(
            downloads.update().where(downloads.c.download_id == record.download_id).values(**values)
        )


def _entry_changes(applied: Finished) -> list[EntryChange]:
    """Step 3's input: terminal outcomes change their report entry; a retry leaves it pending."""
    changes = []
    for record, report in applied:
        status = _plan(report).download_status
        if status is not None:
            error = report.error_message if status == UPLOAD_FAILED else None
            changes.append(EntryChange(record.analysis_id, record.download_id, status, error))
    return changes


def _resolve_not_applied(
    conn: sa.Connection, missed: Finished, actor: str
) -> tuple[list[FlipResult], list[dict[str, Any]]]:
    """The guard matched nothing: a repeated flip (the row still carries our token) or a lease
    lost to another relay (history row only). One read for all of them."""
    if not missed:
        return [], []
    ids = [record.outbox_id for record, _ in missed]
    tokens = {
        row.id: row.lease_token
        for row in conn.execute(
            sa.select(outbox.c.id, outbox.c.lease_token).where(outbox.c.id.in_(ids))
        )
    }
    results: list[FlipResult] = []
    history: list[dict[str, Any]] = []
    for record, report in missed:
        if tokens.get(record.outbox_id) == record.lease_token:
            results.append(FlipResult.REPEATED)
            continue
        results.append(FlipResult.LEASE_LOST)
        reason = f"lease taken over before this attempt's {report.outcome} was recorded"
        history.append(_history_row(record, report, actor, OUTCOME_LEASE_LOST, reason))
    return results, history


def _flip_group(conn: sa.Connection, finished: Finished, actor: str) -> list[FlipResult]:
    """Results in the order of ``finished`` (see the module docstring for the steps)."""
    now = utcnow()
    positions = _flip_outbox_rows(conn, finished, now)
    applied = [finished[i] for i in sorted(positions)]
    _flip_downloads(conn, applied, now)
    update_download_entries(conn, _entry_changes(applied))
    missed_positions = [i for i in range(len(finished)) if i not in positions]
    missed_results, history = _resolve_not_applied(
        conn, [finished[i] for i in missed_positions], actor
    )
    history = [
        _history_row(record, report, actor, report.outcome, None) for record, report in applied
    ] + history
    if history:
        conn.execute(outbox_attempts.insert(), history)
    results = dict.fromkeys(positions, FlipResult.APPLIED)
    results.update(zip(missed_positions, missed_results, strict=True))
    return [results[i] for i in range(len(finished))]


def flip_outcomes(
    engine: sa.Engine, finished: Sequence[tuple[ClaimedRecord, AttemptReport]], *, actor: str
) -> list[FlipResult]:
    """Record several finished attempts (see the module docstring).

    Each outcome is applied atomically and guarded on its own; outcomes that finished together
    share the commit (group commit: one log flush for many records instead of one each).
    Records are taken in ``analysis_id, outbox_id`` order so that concurrent relays lock report
    rows in the same order; a deadlock or lock-wait timeout retries the whole group.
    """

    def transaction() -> list[FlipResult]:
        with engine.begin() as conn:
            return _flip_group(conn, finished, actor)

    flips = retry_on_lock_conflict(
        transaction, event="flip_retried", attempts=MAX_TRANSACTION_ATTEMPTS
    )
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
