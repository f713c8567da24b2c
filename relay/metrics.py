"""Prometheus metrics of one relay (a private registry; served only when METRICS_PORT is set)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from outbox.tables import OUTCOME_RETRY
from relay.records import AttemptReport

_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.pending = Gauge(
            "relay_pending_records", "Outbox records pending on this volume", registry=self.registry
        )
        self.oldest_pending_age = Gauge(
            "relay_oldest_pending_age_seconds",
            "Age of the oldest pending outbox record on this volume",
            registry=self.registry,
        )
        self.attempts = Counter(
            "relay_upload_attempts",
            "Upload attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.uploads = Counter(
            "relay_uploads", "Artifacts stored (created or already present)", registry=self.registry
        )
        self.failures = Counter(
            "relay_upload_failures",
            "Failed attempts by error class",
            ["error_class"],
            registry=self.registry,
        )
        self.retries = Counter(
            "relay_retries", "Attempts rescheduled with backoff", registry=self.registry
        )
        self.bytes_sent = Counter(
            "relay_uploaded_bytes", "Bytes sent to the object store", registry=self.registry
        )
        self.lease_lost = Counter(
            "relay_leases_lost", "Outcomes dropped: the lease was lost", registry=self.registry
        )
        self.duration = Histogram(
            "relay_upload_duration_seconds",
            "Duration of one upload attempt",
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )

    def observe_attempt(self, report: AttemptReport) -> None:
        self.attempts.labels(outcome=report.outcome).inc()
        self.duration.observe(report.duration_ms / 1000)
        self.bytes_sent.inc(report.bytes_sent)
        if report.succeeded:
            self.uploads.inc()
        elif report.error_class:
            self.failures.labels(error_class=report.error_class).inc()
        if report.outcome == OUTCOME_RETRY:
            self.retries.inc()

    def set_backlog(self, pending: int, oldest_age_seconds: float) -> None:
        self.pending.set(pending)
        self.oldest_pending_age.set(oldest_age_seconds)

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)
