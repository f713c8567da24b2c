"""On an S3 artifact store the upload page sends the file straight to the store: it hashes the
file, asks ``POST /api/v1/uploads`` for a presigned POST, posts the file to SeaweedFS with
upload progress, then queues the analysis with ``{"upload_id": ...}``. The file's bytes never
pass through the service. The bucket allows POSTs from the page's origin only (CORS).

SeaweedFS (4.48) keeps to a bucket's CORS rule in its answers to the POST itself (no
``Access-Control-Allow-Origin`` for another origin) but answers every preflight (OPTIONS) with
wildcard headers; a bucket without a rule answers every origin. A multipart POST of a form
needs no preflight, so the rule on the POST is what decides."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Request, expect

from outbox.tables import analysis_jobs
from tests.browser.conftest import DESKTOP, allow_browser_uploads, open_pages
from tests.browser.test_analyst_journey import DIRTY_CSV
from tests.e2e.api.conftest import (
    Service,
    base_env,
    create_tokens,
    free_port,
    start_service,
    stop_service,
)
from tests.support.seaweed import S3Server

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_service(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> Iterator[Service]:
    """``serve`` on SQLite (worker and relay in the process) with the SeaweedFS bucket."""
    env = base_env(tmp_path) | s3_server.env()
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["ARTIFACT_STORE_URL"] = f"s3://{s3_bucket}"
    svc = Service(f"http://127.0.0.1:{free_port()}", env, tmp_path / "serve.log")
    allow_browser_uploads(s3_server, s3_bucket, svc.base_url)
    create_tokens(svc)
    start_service(svc)
    try:
        yield svc
    finally:
        stop_service(svc)


def test_the_upload_page_sends_the_file_straight_to_s3(
    browser: Browser, s3_service: Service, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    pages = open_pages(browser, s3_service, tmp_path / "screenshots", DESKTOP)
    sent: list[tuple[str, str]] = []

    def note(request: Request) -> None:
        if request.method == "POST":
            sent.append((request.url, request.headers.get("content-type", "")))

    try:
        pages.log_in("ann")
        page = pages.page
        page.on("request", note)
        page.goto(s3_service.base_url + "/upload")
        policy = page.context.request.get(s3_service.base_url + "/upload").headers
        assert s3_server.endpoint_url in policy["content-security-policy"]
        expect(page.get_by_label("Checking the file (SHA-256)")).to_have_count(1)
        page.get_by_label(re.compile("^File")).set_input_files(str(DIRTY_CSV))
        page.get_by_role("button", name="Upload and analyse").click()
        expect(page.locator("#upload-text")).to_have_text("100 %", timeout=30_000)
        expect(page.locator("#hash-progress")).to_have_attribute("value", "100")
        pages.shot("direct-upload-progress")
        page.wait_for_url(re.compile(r"/analyses/[^/]+$"), timeout=60_000)
        analysis_id = page.url.rsplit("/", 1)[1]
        expect(page.get_by_role("heading", name="Report: messy_orders.csv")).to_be_visible()
        pages.shot("direct-upload-report")
    finally:
        pages.context.close()

    store_posts = [s for s in sent if s[0].startswith(f"{s3_server.endpoint_url}/{s3_bucket}")]
    assert len(store_posts) == 1
    assert store_posts[0][1].startswith("multipart/form-data")
    api_posts = [s for s in sent if s[0].startswith(s3_service.base_url + "/api/v1/")]
    assert [(u.split("?")[0].rsplit("/", 1)[1], t) for u, t in api_posts] == [
        ("uploads", "application/json"),
        ("analyses", "application/json"),
    ]
    with s3_service.engine().connect() as conn:
        job = conn.execute(
            sa.select(analysis_jobs).where(analysis_jobs.c.analysis_id == analysis_id)
        ).one()
    assert job.input_sha256 == hashlib.sha256(DIRTY_CSV.read_bytes()).hexdigest()
    assert job.input_name == DIRTY_CSV.name
    assert job.status == "succeeded"
    assert pages.watch.errors == []
    assert [u for u in pages.watch.outside if not u.startswith(s3_server.endpoint_url)] == []


def test_a_bucket_that_refuses_the_pages_origin_fails_the_upload_with_a_message(
    browser: Browser, s3_service: Service, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    allow_browser_uploads(s3_server, s3_bucket, "https://elsewhere.example")
    pages = open_pages(browser, s3_service, tmp_path / "screenshots", DESKTOP)
    try:
        pages.log_in("ann")
        page = pages.page
        page.goto(s3_service.base_url + "/upload")
        page.get_by_label(re.compile("^File")).set_input_files(str(DIRTY_CSV))
        page.get_by_role("button", name="Upload and analyse").click()
        expect(page.locator("#upload-error")).to_have_text(
            "Error: the store cannot be reached or refused this site (CORS).", timeout=30_000
        )
        expect(page.get_by_role("button", name="Upload and analyse")).to_be_enabled()
        pages.shot("direct-upload-refused")
    finally:
        pages.context.close()
    with s3_service.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0
    # the browser reports the refused cross-origin answer as a console error; nothing else
    assert all("CORS" in e or "Failed to load resource" in e for e in pages.watch.errors)
