"""Prometheus metrics of the HTTP API: requests answered (by method, route and status) and
their latency, served at ``/metrics``.

The counting is a plain ASGI middleware: it sees each request once and each response's start
message, and leaves ``receive`` alone, so a streamed upload body reaches the route without a
wrapper around every chunk.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _MeasureRequests:
    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self._app = app
        self._requests = requests
        self._latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the application raises

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            name = getattr(scope.get("route"), "path", "unmatched")
            self._requests.labels(scope["method"], name, str(status)).inc()
            self._latency.labels(name).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "cmd_api_requests",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "cmd_api_request_seconds", "HTTP request latency", ["route"], registry=registry
    )
    app.add_middleware(_MeasureRequests, requests=requests, latency=latency)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
