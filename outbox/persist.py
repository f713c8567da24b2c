"""``persist_analysis_report``: the report, its downloads and their outbox records, in ONE
transaction.

Serialisation: two transformers committing the same analysis take turns (MySQL: a named lock
per analysis, ``GET_LOCK``, around a READ COMMITTED transaction, so locking reads of rows that do
not exist yet take no gap locks and different analyses never block each other; SQLite:
``BEGIN IMMEDIATE`` admits one writer at a time).

Order inside the transaction (the same on MySQL and SQLite):

1. read the pending outbox records, then the ``downloads`` rows, of this run's downloads
   ``FOR UPDATE`` (the relay's flip locks in the same order: outbox, downloads, report, so a
   re-run committing while the relay flips one of its downloads waits instead of deadlocking);
2. decide per artifact:
   - new download: insert the row (``pending``) and one outbox record;
   - same bytes (size and sha256) as a ``pending`` download with a live outbox record and its
     staged file, or as an ``uploaded`` one: keep it; no new outbox record; the file staged by
     this run is redundant;
   - anything else (different bytes, the download had failed, or its staged file is gone):
     the pending outbox records become ``superseded`` (one history row each, event
     ``supersede``), the download row is upserted with the new bytes and status ``pending``,
     and a new outbox record is inserted.
     The new bytes have a new object key (the key carries a content hash), so an object
     uploaded from the old bytes is never overwritten;
3. upsert the ``analysis_reports`` row: the final object whose download entries are the rows as
   they will be committed (kept downloads keep their key and status), trimmed if too large;
4. the writes decided in 2.

After the commit, redundant files of this run and the staged files of superseded records are
removed. A COMMIT that fails (the connection dropped) may still have committed: the report row is
read back, and when it holds exactly what this transaction wrote the commit is reported as done;
when the database cannot answer, the error says the outcome is unknown. If anything fails before
or during the commit, the files staged by this run are removed unless a committed row refers to
them; if that cannot be checked, they stay as orphans for the relay's grace-period sweep.
Deadlocks and lock-wait timeouts are retried (``outbox.retry``); the transaction holds the
analysis' lock (``outbox.analysis_lock``), as ``requeue`` does.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
import structlog

from domain.analysis_id import validate_analysis_id
from domain.artifacts import WrittenArtifact
from domain.errors import UserFacingError
from domain.model import ArtifactFormat
from outbox import crashpoints
from outbox.analysis_lock import analysis_transaction
from outbox.clock import to_naive_utc, utcnow
from outbox.db import stored_json_budget
from outbox.events import insert_outbox_record
from outbox.reports import build_download_entry, merge_download_entries
from outbox.retry import is_lock_conflict, retry_on_lock_conflict
from outbox.settings import Settings
from outbox.staging import remove_staged, staged_file_path
from outbox.tables import (
    EVENT_SUPERSEDE,
    OUTBOX_PENDING,
    OUTBOX_SUPERSEDED,
    OUTCOME_SUPERSEDED,
    PENDING,
    UPLOADED,
    analysis_reports,
    downloads,
    outbox,
    outbox_attempts,
)
from outbox.trimming import trim_final_object
from outbox.upsert import upsert

MAX_ATTEMPTS: Final = 5

ACTION_STAGED: Final = "staged"  # new download
ACTION_RESTAGED: Final = "restaged"  # existing download, new bytes (or it had failed)
ACTION_UNCHANGED: Final = "unchanged"  # same bytes already pending or uploaded

log = structlog.get_logger()


class PersistError(UserFacingError):
    """The analysis could not be committed (database unreachable, constraint refused...)."""


@dataclass(frozen=True)
class DownloadOutcome:
    download_id: str
    action: str  # ACTION_STAGED | ACTION_RESTAGED | ACTION_UNCHANGED
    status: str  # the download's status after the commit
    s3_path: str
    outbox_id: int | None  # the new outbox record, None when unchanged


@dataclass(frozen=True)
class PersistResult:
    analysis_id: str
    final_object: dict[str, Any]  # complete, with the download entries as committed
    stored_trimmed: bool  # the stored copy had its row-level issues cut
    stored_bytes: int
    downloads: tuple[DownloadOutcome, ...]
    superseded_outbox_ids: tuple[int, ...] = ()
    removed_staged_paths: tuple[str, ...] = ()

    @property
    def new_outbox_ids(self) -> tuple[int, ...]:
        return tuple(d.outbox_id for d in self.downloads if d.outbox_id is not None)


@dataclass(frozen=True)
class _Plan:
    outcomes: tuple[DownloadOutcome, ...]
    superseded_ids: tuple[int, ...]
    redundant_paths: tuple[str, ...]  # staged by this run, not referenced: remove after commit
    obsolete_paths: tuple[str, ...]  # staged by superseded records: remove after commit
    final_object: dict[str, Any]
    stored_report: dict[str, Any]  # the analysis_reports.report this transaction writes
    trimmed: bool
    stored_bytes: int


def _actor() -> str:
    return f"transformer:{socket.gethostname()}:{os.getpid()}"


def _report_values(
    analysis_id: str, stored: Mapping[str, Any], trimmed: bool, now: Any
) -> dict[str, Any]:
    return {
        "analysis_id": analysis_id,
        "tool": str(stored.get("tool") or "clean-my-data")[:64],
        "status": str(stored.get("status") or "success")[:32],
        "timestamp": to_naive_utc(stored.get("timestamp") or now),
        "execution_time_ms": int(stored.get("execution_time_ms") or 0),
        "report": stored,
        "report_trimmed": trimmed,
        "updated_at": now,
    }


def _staged_entry(artifact: WrittenArtifact) -> dict[str, Any]:
    return build_download_entry(
        {
            "download_id": artifact.spec.download_id,
            "file_name": artifact.spec.file_name,
            "format": str(artifact.spec.format),
            "size_bytes": artifact.size_bytes,
            "sha256": artifact.sha256,
            "s3_path": artifact.s3_path,
            "status": PENDING,
        }
    )


def _full_report_entry(artifacts: Sequence[WrittenArtifact]) -> dict[str, Any] | None:
    for artifact in artifacts:
        if artifact.spec.format == ArtifactFormat.JSON:
            return {"download_id": artifact.spec.download_id, "file_name": artifact.spec.file_name}
    return None


def _download_values(artifact: WrittenArtifact, settings: Settings, now: Any) -> dict[str, Any]:
    spec = artifact.spec
    return {
        "download_id": spec.download_id,
        "analysis_id": spec.analysis_id,
        "file_name": spec.file_name,
        "format": str(spec.format),
        "size_bytes": artifact.size_bytes,
        "sha256": artifact.sha256,
        "s3_path": artifact.s3_path,
        "object_key": artifact.object_key,
        "staged_path": artifact.staged_path,
        "staging_volume": settings.staging_volume_id,
        "presigned_url": None,
        "status": PENDING,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
    }


def _supersede(conn: sa.Connection, row: sa.Row[Any], artifact: WrittenArtifact, now: Any) -> bool:
    """Mark one pending outbox record superseded (guarded) and append its history row."""
    done = conn.execute(
        outbox.update()
        .where(outbox.c.id == row.id, outbox.c.state == OUTBOX_PENDING)
        .values(
            state=OUTBOX_SUPERSEDED,
            lease_token=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
            finished_at=now,
        )
    ).rowcount
    if done != 1:
        log.info("outbox_supersede_lost_race", outbox_id=row.id, download_id=row.download_id)
        return False
    old_key = row.payload.get("object_key") if isinstance(row.payload, dict) else None
    old_sha = row.payload.get("sha256") if isinstance(row.payload, dict) else None
    conn.execute(
        outbox_attempts.insert().values(
            outbox_id=row.id,
            download_id=row.download_id,
            analysis_id=row.analysis_id,
            event=EVENT_SUPERSEDE,
            attempt=row.attempts,
            actor=_actor(),
            started_at=now,
            duration_ms=0,
            bytes=0,
            outcome=OUTCOME_SUPERSEDED,
            object_key=old_key,
            reason=(
                f"a re-run staged different bytes (sha256 {old_sha} -> {artifact.sha256})"
                if old_sha != artifact.sha256
                else "a re-run staged the artifact again"
            ),
            recorded_at=now,
        )
    )
    return True


def _lock_current(
    conn: sa.Connection, download_ids: list[str]
) -> tuple[dict[str, sa.Row[Any]], dict[str, list[sa.Row[Any]]]]:
    """The downloads rows and pending outbox records of ``download_ids``, locked.

    Lock order (outbox records, then downloads rows, then the report row) is the relay's flip
    order, so a re-run committing while the relay flips the same download waits, not deadlocks.
    """
    pending: dict[str, list[sa.Row[Any]]] = {d: [] for d in download_ids}
    for record in conn.execute(
        sa.select(outbox)
        .where(outbox.c.download_id.in_(download_ids), outbox.c.state == OUTBOX_PENDING)
        .order_by(outbox.c.id)
        .with_for_update()
    ):
        pending[record.download_id].append(record)
    existing = {
        row.download_id: row
        for row in conn.execute(
            sa.select(downloads)
            .where(downloads.c.download_id.in_(download_ids))
            .order_by(downloads.c.download_id)
            .with_for_update()
        )
    }
    return existing, pending


def _has_staged_file(row: sa.Row[Any], settings: Settings) -> bool:
    """Whether a pending download's staged file is still there. Race-free under the locks held:
    the relay deletes a staged file only after committing its flip, which needs the outbox
    record this transaction has locked. Files on another staging volume cannot be seen: trusted.
    """
    if row.staging_volume != settings.staging_volume_id:
        return True
    try:
        return staged_file_path(settings, row.staged_path).is_file()
    except ValueError:
        return False


def _keeps(
    existing: sa.Row[Any] | None, artifact: WrittenArtifact, live: bool, settings: Settings
) -> bool:
    """True when the download already holds these bytes and needs nothing new: it is uploaded,
    or pending with a live outbox record whose staged file exists."""
    if existing is None:
        return False
    if existing.sha256 != artifact.sha256 or existing.size_bytes != artifact.size_bytes:
        return False
    if existing.status == UPLOADED:
        return True
    return existing.status == PENDING and live and _has_staged_file(existing, settings)


def _write(
    conn: sa.Connection,
    final_object: Mapping[str, Any],
    artifacts: Sequence[WrittenArtifact],
    settings: Settings,
    analysis_id: str,
) -> _Plan:
    now = utcnow()
    existing, pending = _lock_current(conn, [a.spec.download_id for a in artifacts])

    kept: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    redundant: list[str] = []
    for artifact in artifacts:
        row = existing.get(artifact.spec.download_id)
        if row is not None and _keeps(row, artifact, bool(pending[row.download_id]), settings):
            kept[row.download_id] = dict(row._mapping)
            entries.append(build_download_entry(kept[row.download_id]))
            if artifact.staged_path and artifact.staged_path != row.staged_path:
                redundant.append(artifact.staged_path)
        else:
            entries.append(_staged_entry(artifact))

    final = merge_download_entries(final_object, entries)
    budget = stored_json_budget(conn)  # None, or what the server's max_allowed_packet allows
    limit = settings.report_max_bytes if budget is None else min(settings.report_max_bytes, budget)
    trimmed = trim_final_object(final, limit, full_report=_full_report_entry(artifacts))
    if budget is not None and trimmed.size_bytes > budget:
        raise PersistError(
            f"the report of analysis {analysis_id!r} takes {trimmed.size_bytes:,} bytes even "
            f"trimmed; the database accepts {budget:,} (its max_allowed_packet): raise "
            "max_allowed_packet on the server"
        )
    upsert(
        conn,
        analysis_reports,
        _report_values(analysis_id, trimmed.final_object, trimmed.trimmed, now),
        "analysis_id",
    )

    outcomes: list[DownloadOutcome] = []
    superseded: list[int] = []
    obsolete: list[str] = []
    for artifact in artifacts:
        download_id = artifact.spec.download_id
        if download_id in kept:
            row_values = kept[download_id]
            outcomes.append(
                DownloadOutcome(
                    download_id, ACTION_UNCHANGED, row_values["status"], row_values["s3_path"], None
                )
            )
            continue
        for old in pending[download_id]:
            if _supersede(conn, old, artifact, now):
                superseded.append(int(old.id))
                old_path = old.payload.get("staged_path") if isinstance(old.payload, dict) else None
                if old_path and old_path != artifact.staged_path:
                    obsolete.append(str(old_path))
        previous = existing.get(download_id)
        if previous is not None and previous.staged_path not in (artifact.staged_path, None):
            obsolete.append(previous.staged_path)
        values = _download_values(artifact, settings, now)
        upsert(conn, downloads, values, "download_id")
        outbox_id = insert_outbox_record(conn, values, settings.app_env, now)
        outcomes.append(
            DownloadOutcome(
                download_id,
                ACTION_RESTAGED if previous is not None else ACTION_STAGED,
                PENDING,
                str(artifact.s3_path),
                outbox_id,
            )
        )
    return _Plan(
        outcomes=tuple(outcomes),
        superseded_ids=tuple(superseded),
        redundant_paths=tuple(redundant),
        obsolete_paths=tuple(dict.fromkeys(obsolete)),
        final_object=final,
        stored_report=trimmed.final_object,
        trimmed=trimmed.trimmed,
        stored_bytes=trimmed.size_bytes,
    )


def _check_inputs(final_object: Mapping[str, Any], artifacts: Sequence[WrittenArtifact]) -> str:
    analysis_id = final_object.get("analysis_id")
    if not isinstance(analysis_id, str):
        raise ValueError("the final object has no analysis_id")
    validate_analysis_id(analysis_id)
    seen: set[str] = set()
    for artifact in artifacts:
        if artifact.spec.analysis_id != analysis_id:
            raise ValueError(
                f"artifact {artifact.spec.file_name} belongs to {artifact.spec.analysis_id!r}, "
                f"not {analysis_id!r}"
            )
        if not artifact.staged_path or not artifact.object_key or not artifact.s3_path:
            raise ValueError(f"artifact {artifact.spec.file_name} was not staged")
        if artifact.spec.download_id in seen:
            raise ValueError(f"artifact {artifact.spec.file_name} given twice")
        seen.add(artifact.spec.download_id)
    return analysis_id


def _referenced(engine: sa.Engine, staged_paths: Sequence[str]) -> set[str] | None:
    """Which of ``staged_paths`` committed rows refer to; None when the database cannot say."""
    if not staged_paths:
        return set()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(downloads.c.staged_path).where(
                    downloads.c.staged_path.in_(list(staged_paths))
                )
            )
            return {row.staged_path for row in rows}
    except sa.exc.DBAPIError:
        return None


def _discard_after_failure(
    engine: sa.Engine, settings: Settings, artifacts: Sequence[WrittenArtifact]
) -> None:
    paths = [a.staged_path for a in artifacts if a.staged_path]
    referenced = _referenced(engine, paths)
    if referenced is None:
        log.warning("staged_files_left_for_sweep", staged_paths=paths)
        return
    remove_staged(settings, [p for p in paths if p not in referenced])


def _committed(engine: sa.Engine, analysis_id: str, plan: _Plan) -> bool | None:
    """Whether the transaction that wrote ``plan`` committed, asked after its COMMIT failed
    (the reply may be lost after the server committed): the report row holds exactly what that
    transaction wrote (its run's timestamp and timings included) only if it committed. None
    when the database cannot say."""
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(analysis_reports.c.report).where(
                    analysis_reports.c.analysis_id == analysis_id
                )
            ).scalar()
    except sa.exc.DBAPIError:
        return None
    return stored is not None and stored == plan.stored_report


def _first_line(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)


def _commit(
    engine: sa.Engine,
    final_object: Mapping[str, Any],
    artifacts: Sequence[WrittenArtifact],
    settings: Settings,
    analysis_id: str,
    *,
    in_transaction: Callable[[sa.Connection], None] | None = None,
) -> _Plan:
    """The transaction, retried on lock conflicts; a failed COMMIT that in fact committed (the
    reply was lost) returns its plan like a clean commit."""
    written: list[_Plan] = []

    def transaction() -> _Plan:
        written.clear()
        with analysis_transaction(engine, analysis_id) as conn:
            plan = _write(conn, final_object, artifacts, settings, analysis_id)
            if in_transaction is not None:
                in_transaction(conn)
            written.append(plan)
            crashpoints.reach(crashpoints.BEFORE_COMMIT)
        return written[0]

    try:
        return retry_on_lock_conflict(
            transaction, event="persist_retried", attempts=MAX_ATTEMPTS, analysis_id=analysis_id
        )
    except sa.exc.DBAPIError as exc:
        if not written or is_lock_conflict(exc):
            raise
        committed = _committed(engine, analysis_id, written[0])
        if committed is None:
            raise PersistError(
                f"could not tell whether analysis {analysis_id!r} was committed: the commit "
                f"failed ({_first_line(exc)}) and the database did not answer since; "
                f"`clean-my-data report {analysis_id}` shows what was stored"
            ) from exc
        if not committed:
            raise
        log.warning("persist_commit_confirmed", analysis_id=analysis_id, error=_first_line(exc))
        return written[0]


def persist_analysis_report(
    engine: sa.Engine,
    final_object: Mapping[str, Any],
    artifacts: Sequence[WrittenArtifact],
    settings: Settings,
    *,
    in_transaction: Callable[[sa.Connection], None] | None = None,
) -> PersistResult:
    """Commit the final object, its downloads and their outbox records in one transaction (see
    the module docstring). Idempotent for the same analysis id and bytes.

    ``in_transaction(conn)`` runs inside that transaction after the writes, before the commit:
    the caller's own writes commit or roll back with the analysis. A retried transaction calls
    it again; when it raises, nothing is committed and its exception propagates."""
    analysis_id = _check_inputs(final_object, artifacts)
    try:
        plan = _commit(
            engine, final_object, artifacts, settings, analysis_id, in_transaction=in_transaction
        )
    except BaseException as exc:
        _discard_after_failure(engine, settings, artifacts)
        log.warning("persist_failed", analysis_id=analysis_id, error=type(exc).__name__)
        if isinstance(exc, sa.exc.DBAPIError):
            raise PersistError(
                f"could not commit analysis {analysis_id!r}: {_first_line(exc)}"
            ) from exc
        raise
    crashpoints.reach(crashpoints.AFTER_COMMIT)
    removed = remove_staged(settings, plan.redundant_paths + plan.obsolete_paths)
    log.info(
        "analysis_persisted",
        analysis_id=analysis_id,
        staged=sum(o.action == ACTION_STAGED for o in plan.outcomes),
        restaged=sum(o.action == ACTION_RESTAGED for o in plan.outcomes),
        unchanged=sum(o.action == ACTION_UNCHANGED for o in plan.outcomes),
        superseded=len(plan.superseded_ids),
        stored_trimmed=plan.trimmed,
    )
    return PersistResult(
        analysis_id=analysis_id,
        final_object=plan.final_object,
        stored_trimmed=plan.trimmed,
        stored_bytes=plan.stored_bytes,
        downloads=plan.outcomes,
        superseded_outbox_ids=plan.superseded_ids,
        removed_staged_paths=tuple(removed),
    )
