"""``clean-my-data relay``: the long-running sidecar (APScheduler 3) and its ``--once`` mode.

An interval job polls every RELAY_POLL_INTERVAL_SECONDS (max_instances=1, coalesce) and drains:
after a batch that found work it claims again at once, so a backlog drains at full speed and a
new commit is picked up within one poll interval. Side jobs: the orphan sweep, the heartbeat
(relay/heartbeat.py) and, hourly, the retention purge. SIGTERM/SIGINT stop claiming; running
uploads finish and are flipped, claimed but unstarted records are released; the process exits 0.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa
import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from outbox.audit.retention import purge_finished
from outbox.db import open_database
from outbox.heartbeats import HEARTBEAT_INTERVAL_SECONDS
from outbox.settings import Settings, SettingsError
from outbox.staging import claim_staging_volume
from outbox.stopping import stop_on_signals
from relay.heartbeat import RelayHeartbeat
from relay.metrics import RelayMetrics
from relay.preflight import check_store
from relay.stores import open_store
from relay.sweep import sweep_orphans
from relay.worker import RelayWorker

log = structlog.get_logger()

PURGE_INTERVAL_SECONDS = 3600
SWEEP_INTERVAL_MAX_SECONDS = 300


def _run_guarded(name: str, job: Callable[[], object]) -> None:
    """Run a side job; its failure is logged, the daemon keeps going."""
    try:
        job()
    except Exception as exc:  # noqa: BLE001
        log.error("relay_job_failed", job=name, error=f"{type(exc).__name__}: {exc}")


def _check_staging_volume(settings: Settings) -> None:
    """Refuse at start a staging directory that belongs to another STAGING_VOLUME_ID."""
    if settings.staging_dir.is_dir():
        claim_staging_volume(settings.staging_dir.resolve(), settings.staging_volume_id)


def run_once(settings: Settings) -> int:
    """Process everything due now, sweep orphans, exit 0."""
    _check_staging_volume(settings)
    store = open_store(settings)
    check_store(store, settings)
    engine = open_database(settings)
    heartbeat = RelayHeartbeat(engine, settings)
    heartbeat.beat()
    worker = RelayWorker(engine, store, settings, heartbeat=heartbeat)
    try:
        summaries = worker.drain()
        sweep_orphans(engine, settings)
    finally:
        worker.close()
        heartbeat.beat()
        engine.dispose()
    log.info(
        "relay_once_finished",
        batches=len(summaries),
        records=sum(summary.claimed for summary in summaries),
    )
    return 0


def _schedule(
    scheduler: BackgroundScheduler,
    engine: sa.Engine,
    worker: RelayWorker,
    settings: Settings,
    heartbeat: RelayHeartbeat,
) -> None:
    scheduler.add_job(
        _run_guarded,
        "interval",
        args=("drain", worker.drain),
        seconds=settings.relay_poll_interval_seconds,
        id="drain",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    sweep_every = max(1, min(settings.relay_orphan_grace_seconds, SWEEP_INTERVAL_MAX_SECONDS))
    scheduler.add_job(
        _run_guarded,
        "interval",
        args=("sweep_orphans", lambda: sweep_orphans(engine, settings)),
        seconds=sweep_every,
        id="sweep",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _run_guarded,
        "interval",
        args=("heartbeat", heartbeat.beat),
        seconds=HEARTBEAT_INTERVAL_SECONDS,
        id="heartbeat",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _run_guarded,
        "interval",
        args=("purge_finished", lambda: purge_finished(engine, settings)),
        seconds=PURGE_INTERVAL_SECONDS,
        id="purge",
        max_instances=1,
        coalesce=True,
    )


def _quiet_scheduler_logger() -> logging.Logger:
    """APScheduler warns each time a poll finds the previous drain still running; that is the
    normal state under load (the drain loops until the backlog is empty), so only its errors
    are kept."""
    scheduler_logger = logging.getLogger("relay.scheduler")
    scheduler_logger.setLevel(logging.ERROR)
    return scheduler_logger


def run_daemon(settings: Settings, stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or until ``stop`` is set, when given: the relay then runs in
    a thread of another process, which owns the signals); exit 0 after a clean stop."""
    _check_staging_volume(settings)
    store = open_store(settings)
    check_store(store, settings)
    engine = open_database(settings)
    metrics = RelayMetrics()
    if settings.metrics_port:
        try:
            metrics.serve(settings.metrics_port)
        except OSError as exc:
            engine.dispose()
            raise SettingsError(
                f"METRICS_PORT={settings.metrics_port}: cannot listen ({exc.strerror or exc})"
            ) from None
        log.info("relay_metrics_served", port=settings.metrics_port)
    heartbeat = RelayHeartbeat(engine, settings)
    heartbeat.beat()
    worker = RelayWorker(engine, store, settings, metrics, heartbeat)
    if stop is None:
        stop = threading.Event()
        stop_on_signals(stop, "relay_stop_requested")
    scheduler = BackgroundScheduler(timezone="UTC", logger=_quiet_scheduler_logger())
    _schedule(scheduler, engine, worker, settings, heartbeat)
    log.info(
        "relay_started",
        relay_id=settings.relay_id,
        volume=settings.staging_volume_id,
        store=settings.store.scheme,
        concurrency=settings.relay_concurrency,
        poll_interval_seconds=settings.relay_poll_interval_seconds,
    )
    scheduler.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        worker.request_stop()
        scheduler.shutdown(wait=True)
        worker.close()
        heartbeat.beat()
        engine.dispose()
    log.info("relay_stopped", relay_id=settings.relay_id)
    return 0
