"""One relay's work loop: claim a batch, upload it on a bounded pool, flip each outcome.

One bad artifact never blocks the others: every attempt is classified and flipped on its own.
On shutdown, records not yet started are released (lease cleared, attempt taken back); uploads
already running are finished and flipped.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import sqlalchemy as sa
import structlog

from outbox import crashpoints
from outbox.settings import Settings
from outbox.staging import remove_staged
from relay.attempt import attempt_upload
from relay.backlog import measure_backlog
from relay.claim import claim_batch, release_leases
from relay.flip import FlipResult, flip_outcomes
from relay.leases import LeaseKeeper
from relay.metrics import RelayMetrics
from relay.records import AttemptReport, ClaimedRecord
from relay.stores.base import ObjectStore

log = structlog.get_logger()


@dataclass(frozen=True)
class BatchSummary:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    lease_lost: int = 0
    released: int = 0
    bytes_sent: int = 0
    duration_ms: int = 0


@dataclass(frozen=True)
class _Done:
    record: ClaimedRecord
    report: AttemptReport
    flip: FlipResult


class RelayWorker:
    def __init__(
        self,
        engine: sa.Engine,
        store: ObjectStore,
        settings: Settings,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.relay_concurrency, thread_name_prefix="relay-upload"
        )

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        """Stop claiming; records not yet started are released, running uploads finish."""
        self._stopping.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def drain(self) -> list[BatchSummary]:
        """Run batches until one claims nothing (or a stop is requested)."""
        summaries: list[BatchSummary] = []
        while not self.stopping:
            summary = self.run_batch()
            if summary.claimed == 0:
                break
            summaries.append(summary)
        self._update_backlog()
        return summaries

    def _update_backlog(self) -> None:
        if self._metrics is None:
            return
        try:
            backlog = measure_backlog(self._engine, self._settings.staging_volume_id)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("backlog_not_measured", error=str(exc).splitlines()[0])
            return
        self._metrics.set_backlog(backlog.pending, backlog.oldest_age_seconds)

    def run_batch(self) -> BatchSummary:
        if self.stopping:
            return BatchSummary()
        started = time.monotonic()
        settings = self._settings
        records = claim_batch(
            self._engine,
            volume=settings.staging_volume_id,
            owner=settings.relay_id,
            batch_size=settings.relay_batch_size,
            lease_seconds=settings.relay_lease_seconds,
        )
        if not records:
            return BatchSummary()
        crashpoints.reach(crashpoints.AFTER_CLAIM)
        with LeaseKeeper(self._engine, records, settings.relay_lease_seconds) as keeper:
            futures = {self._pool.submit(self._upload, record): record for record in records}
            done, unstarted = self._flip_as_they_finish(futures, keeper)
        released = release_leases(self._engine, unstarted) if unstarted else 0
        # 'uploaded' is committed for these: their staged files go (one directory fsync).
        remove_staged(
            settings,
            [
                str(result.record.payload["staged_path"])
                for result in done
                if result.flip is FlipResult.APPLIED and result.report.succeeded
            ],
        )
        summary = BatchSummary(
            claimed=len(records),
            outcomes=dict(Counter(result.report.outcome for result in done)),
            lease_lost=sum(1 for result in done if result.flip is FlipResult.LEASE_LOST),
            released=released,
            bytes_sent=sum(result.report.bytes_sent for result in done),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        log.info(
            "relay_batch_processed",
            relay_id=settings.relay_id,
            claimed=summary.claimed,
            **summary.outcomes,
            lease_lost=summary.lease_lost,
            released=summary.released,
            bytes=summary.bytes_sent,
            duration_ms=summary.duration_ms,
        )
        return summary

    def _upload(self, record: ClaimedRecord) -> AttemptReport | None:
        """Runs on the pool; None when a stop was requested before it started."""
        if self.stopping:
            return None
        report = attempt_upload(record, self._store, self._settings)
        crashpoints.reach(crashpoints.AFTER_UPLOAD)
        if self._metrics is not None:
            self._metrics.observe_attempt(report)
        return report

    def _flip_as_they_finish(
        self, futures: dict[Future[AttemptReport | None], ClaimedRecord], keeper: LeaseKeeper
    ) -> tuple[list[_Done], list[ClaimedRecord]]:
        """Flip outcomes while other uploads still run: whatever finished since the last
        commit is recorded in the next one (group commit). A group whose commit fails keeps
        its leases: they expire, the records are claimed again, the create-only write makes
        the repeat harmless."""
        done: list[_Done] = []
        unstarted: list[ClaimedRecord] = []
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            group: list[tuple[ClaimedRecord, AttemptReport]] = []
            for future in finished:
                record = futures[future]
                report = future.result()  # attempt_upload never raises
                if report is None:
                    unstarted.append(record)
                    keeper.finish(record)
                else:
                    group.append((record, report))
            if group:
                done.extend(self._flip_group(group))
                for record, _ in group:
                    keeper.finish(record)
        return done, unstarted

    def _flip_group(self, group: list[tuple[ClaimedRecord, AttemptReport]]) -> list[_Done]:
        try:
            flips = flip_outcomes(self._engine, group, actor=self._settings.relay_id)
            crashpoints.reach(crashpoints.AFTER_FLIP)
        except sa.exc.SQLAlchemyError as exc:
            log.error(
                "flip_failed",
                outbox_ids=[record.outbox_id for record, _ in group],
                error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
            )
            return []
        results = []
        for (record, report), flip in zip(group, flips, strict=True):
            if flip is FlipResult.APPLIED:
                self._log_outcome(record, report)
            elif flip is FlipResult.LEASE_LOST and self._metrics is not None:
                self._metrics.lease_lost.inc()
            results.append(_Done(record, report, flip))
        return results

    def _log_outcome(self, record: ClaimedRecord, report: AttemptReport) -> None:
        if report.succeeded:
            return
        log.warning(
            "upload_failed" if report.retry_at is None else "upload_retry_scheduled",
            outbox_id=record.outbox_id,
            download_id=record.download_id,
            attempt=record.attempt,
            error_class=report.error_class,
            error=report.error_message,
            retry_at=None if report.retry_at is None else report.retry_at.isoformat(),
        )
