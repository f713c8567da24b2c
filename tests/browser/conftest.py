"""Chromium (Debian's package, launched through ``executable_path``) against a real
``clean-my-data serve`` process on the embedded default (SQLite + local directory, with the
worker and relay in the process). Every page visited is screenshotted under ``tmp_path``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.api.conftest import (
    Service,
    base_env,
    create_tokens,
    free_port,
    start_service,
    stop_service,
)
from tests.support.seaweed import S3Server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


@dataclass
class Watch:
    """What the browser did that a page must never do: JavaScript errors (console errors
    included, so a refused CSP shows up) and requests leaving the service."""

    base_url: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console {msg.type}: {msg.text} @ {page.url}")
                if msg.type == "error"
                else None
            ),
        )
        page.on("request", self._request)

    def _request(self, request: object) -> None:
        url = str(getattr(request, "url", ""))
        if not (url.startswith(self.base_url + "/") or url.startswith("data:")):
            self.outside.append(url)


@dataclass
class Pages:
    service: Service
    context: BrowserContext
    page: Page
    watch: Watch
    shots: Path
    count: int = 0

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def log_in(self, who: str) -> None:
        self.page.goto(self.service.base_url + "/login")
        self.page.get_by_label("API token").fill(self.service.tokens[who])
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state("networkidle")
        assert "/login" not in self.page.url, self.page.content()[:500]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    env = base_env(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["ARTIFACT_STORE_URL"] = f"file://{tmp_path / 'store'}"
    svc = Service(f"http://127.0.0.1:{free_port()}", env, tmp_path / "serve.log")
    create_tokens(svc)
    start_service(svc)
    try:
        yield svc
    finally:
        stop_service(svc)


def allow_browser_uploads(s3_server: S3Server, bucket: str, origin: str) -> None:
    """The bucket's CORS rule for the pages' direct uploads: POST from ``origin`` only (the
    page's origin is not the S3 endpoint's, so the browser needs it to read the answer)."""
    s3_server.client().put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [origin],
                    "AllowedMethods": ["POST"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )


@pytest.fixture
def mariadb_s3_service(
    tmp_path: Path, mysql_url: str, s3_server: S3Server, s3_bucket: str
) -> Iterator[Service]:
    """``serve --worker`` on MariaDB + SeaweedFS: uploads go straight to S3, downloads are
    presigned S3 URLs."""
    env = base_env(tmp_path) | s3_server.env()
    env["DATABASE_URL"] = mysql_url
    env["ARTIFACT_STORE_URL"] = f"s3://{s3_bucket}"
    svc = Service(f"http://127.0.0.1:{free_port()}", env, tmp_path / "serve.log", kind="mariadb_s3")
    allow_browser_uploads(s3_server, s3_bucket, svc.base_url)
    upgraded = svc.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    create_tokens(svc)
    start_service(svc, "--worker")
    try:
        yield svc
    finally:
        stop_service(svc)


def open_pages(browser: Browser, service: Service, shots: Path, viewport: dict[str, int]) -> Pages:
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    page = context.new_page()
    watch = Watch(service.base_url)
    watch.attach(page)
    return Pages(service, context, page, watch, shots)


@pytest.fixture
def pages(browser: Browser, service: Service, tmp_path: Path) -> Iterator[Pages]:
    opened = open_pages(browser, service, tmp_path / "screenshots", DESKTOP)
    try:
        yield opened
    finally:
        opened.context.close()
