"""One relay's work loop: claim a batch, upload it on a bounded pool, flip each outcome.

One bad artifact never blocks the others: every attempt is classified and flipped on its own.
On shutdown, records not yet started are released (lease cleared, attempt taken back); uploads
already running are finished and flipped.

Throughput (bench/README.md, ``bench_relay``): ``drain`` claims the next batch as soon as the
current one's last uploads have started (claim-ahead), so the pool never runs dry while a batch's
tail is flipped; outcomes that finish within ``FLIP_GROUP_WINDOW_SECONDS`` of each other share
one flip commit; staged files of a batch are removed on a cleanup thread once their flips have
committed. The database work per record is then a fraction of one small PUT.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Final

import sqlalchemy as sa
import structlog

from outbox import crashpoints
from outbox.settings import Settings
from outbox.staging import remove_staged
from relay.attempt import attempt_upload
from relay.backlog import measure_backlog
from relay.claim import claim_batch, release_leases
from relay.flip import FlipResult, flip_outcomes
from relay.heartbeat import RelayHeartbeat
from relay.leases import LeaseKeeper
from relay.metrics import RelayMetrics
from relay.records import AttemptReport, ClaimedRecord
from relay.stores.base import ObjectStore

log = structlog.get_logger()

# Outcomes finishing within this long of the first unflipped one are flipped in one commit
# (sooner when nothing else of the batch is still running). Adds at most this much lag.
FLIP_GROUP_WINDOW_SECONDS: Final = 0.05


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


class _Batch:
    """One claim in flight: its uploads, its lease keeper, what is finished and flipped."""

    def __init__(
        self,
        records: list[ClaimedRecord],
        futures: dict[Future[AttemptReport | None], ClaimedRecord],
        keeper: LeaseKeeper,
        started: float,
    ) -> None:
        self.records = records
        self.futures = futures
        self.keeper = keeper
        self.started = started
        self.waiting: set[Future[AttemptReport | None]] = set(futures)
        self.ready: list[tuple[ClaimedRecord, AttemptReport]] = []
        self.ready_since: float | None = None
        self.done: list[_Done] = []
        self.unstarted: list[ClaimedRecord] = []


class RelayWorker:
    def __init__(
        self,
        engine: sa.Engine,
        store: ObjectStore,
        settings: Settings,
        metrics: RelayMetrics | None = None,
        heartbeat: RelayHeartbeat | None = None,
    ) -> None:
        self._engine = engine
        self._heartbeat = heartbeat
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.relay_concurrency, thread_name_prefix="relay-upload"
        )
        self._cleanup = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-cleanup")
        self._removals: list[Future[list[str]]] = []

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        """Stop claiming; records not yet started are released, running uploads finish."""
        self._stopping.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._cleanup.shutdown(wait=True)

    def drain(self) -> list[BatchSummary]:
        """Run batches until a claim made after the last flip finds nothing (or a stop is
        requested); the next batch is claimed while the current one's last uploads run."""
        summaries: list[BatchSummary] = []
        batch = self._start_batch()
        following: _Batch | None = None
        try:
            while batch is not None:
                self._flip_as_they_finish(batch, until_running=self._settings.relay_concurrency)
                following = None
                try:
                    following = self._start_batch()
                finally:
                    summaries.append(self._finish_batch(batch))
                # The claim-ahead ran before this batch's retries were flipped: a claim that
                # found nothing then is repeated once the batch is finished.
                batch, following = following or self._start_batch(), None
        except BaseException:
            if following is not None:  # never started to be flipped: its leases expire
                following.keeper.stop()
            raise
        finally:
            self._wait_for_removals()
        self._update_backlog()
        return summaries

    def run_batch(self) -> BatchSummary:
        """Claim one batch, upload and flip all of it."""
        batch = self._start_batch()
        if batch is None:
            return BatchSummary()
        try:
            return self._finish_batch(batch)
        finally:
            self._wait_for_removals()

    def _update_backlog(self) -> None:
        if self._metrics is None:
            return
        try:
            backlog = measure_backlog(self._engine, self._settings.staging_volume_id)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("backlog_not_measured", error=str(exc).splitlines()[0])
            return
        self._metrics.set_backlog(backlog.pending, backlog.oldest_age_seconds)

    def _start_batch(self) -> _Batch | None:
        """Claim and submit a batch; None when stopping or nothing is due."""
        if self.stopping:
            return None
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
            return None
        crashpoints.reach(crashpoints.AFTER_CLAIM)
        keeper = LeaseKeeper(self._engine, records, settings.relay_lease_seconds).start()
        futures = {self._pool.submit(self._upload, record): record for record in records}
        return _Batch(records, futures, keeper, started)

    def _finish_batch(self, batch: _Batch) -> BatchSummary:
        """Flip the rest of the batch, release what never started, remove staged files."""
        try:
            self._flip_as_they_finish(batch, until_running=0)
        finally:
            batch.keeper.stop()
        released = release_leases(self._engine, batch.unstarted) if batch.unstarted else 0
        # 'uploaded' is committed for these: their staged files go (one directory fsync).
        staged = [
            str(result.record.payload["staged_path"])
            for result in batch.done
            if result.flip is FlipResult.APPLIED and result.report.succeeded
        ]
        if staged:
            self._removals.append(self._cleanup.submit(remove_staged, self._settings, staged))
        summary = BatchSummary(
            claimed=len(batch.records),
            outcomes=dict(Counter(result.report.outcome for result in batch.done)),
            lease_lost=sum(1 for result in batch.done if result.flip is FlipResult.LEASE_LOST),
            released=released,
            bytes_sent=sum(result.report.bytes_sent for result in batch.done),
            duration_ms=int((time.monotonic() - batch.started) * 1000),
        )
        log.info(
            "relay_batch_processed",
            relay_id=self._settings.relay_id,
            claimed=summary.claimed,
            **summary.outcomes,
            lease_lost=summary.lease_lost,
            released=summary.released,
            bytes=summary.bytes_sent,
            duration_ms=summary.duration_ms,
        )
        if self._heartbeat is not None:
            self._heartbeat.batch_finished(summary.claimed, summary.outcomes, summary.duration_ms)
        return summary

    def _wait_for_removals(self) -> None:
        removals, self._removals = self._removals, []
        for removal in removals:
            removal.result()  # remove_staged logs its own failures and never raises

    def _upload(self, record: ClaimedRecord) -> AttemptReport | None:
        """Runs on the pool; None when a stop was requested before it started."""
        if self.stopping:
            return None
        report = attempt_upload(record, self._store, self._settings)
        crashpoints.reach(crashpoints.AFTER_UPLOAD)
        if self._metrics is not None:
            self._metrics.observe_attempt(report)
        return report

    def _flip_as_they_finish(self, batch: _Batch, *, until_running: int) -> None:
        """Flip outcomes while other uploads still run, until at most ``until_running`` of the
        batch's uploads are unfinished (0: the whole batch is flipped). Whatever finished within
        FLIP_GROUP_WINDOW_SECONDS of the first unflipped outcome shares one commit (group
        commit). A group whose commit fails keeps its leases: they expire, the records are
        claimed again, the create-only write makes the repeat harmless."""
        while True:
            now = time.monotonic()
            window_over = (
                batch.ready_since is not None
                and now >= batch.ready_since + FLIP_GROUP_WINDOW_SECONDS
            )
            if batch.ready and (window_over or not batch.waiting):
                group, batch.ready, batch.ready_since = batch.ready, [], None
                batch.done.extend(self._flip_group(group))
                for record, _ in group:
                    batch.keeper.finish(record)
                continue
            if len(batch.waiting) <= until_running:
                return  # an open group is flipped by the next call
            timeout = None
            if batch.ready_since is not None:
                timeout = batch.ready_since + FLIP_GROUP_WINDOW_SECONDS - now
            finished, batch.waiting = wait(
                batch.waiting, timeout=timeout, return_when=FIRST_COMPLETED
            )
            self._collect(batch, finished)

    def _collect(self, batch: _Batch, finished: set[Future[AttemptReport | None]]) -> None:
        for future in finished:
            record = batch.futures[future]
            report = future.result()  # attempt_upload never raises
            if report is None:
                batch.unstarted.append(record)
                batch.keeper.finish(record)
                continue
            batch.ready.append((record, report))
            if batch.ready_since is None:
                batch.ready_since = time.monotonic()

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
