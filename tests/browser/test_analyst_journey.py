"""An analyst logs in, uploads a dirty CSV, watches the job, reads the report with its charts,
waits for the three downloads to go live and downloads each: every file's sha256 is the one
the database recorded."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from outbox.tables import downloads
from tests.browser.conftest import DESKTOP, PHONE, Pages, open_pages
from tests.e2e.api.conftest import Service

DIRTY_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "messy_orders.csv"


def upload_dirty_csv(pages: Pages) -> str:
    page = pages.page
    page.goto(pages.service.base_url + "/upload")
    pages.shot("upload")
    page.get_by_label(re.compile("^File")).set_input_files(str(DIRTY_CSV))
    page.get_by_role("button", name="Upload and analyse").click()
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#upload-text")).to_have_text("100 %", timeout=30_000)
    pages.shot("upload-progress")
    page.wait_for_url(re.compile(r"/analyses/[^/]+$"), timeout=60_000)
    return page.url.rsplit("/", 1)[1]


def test_analyst_uploads_reads_the_report_and_downloads_every_file(
    pages: Pages, tmp_path: Path
) -> None:
    run_analyst_journey(pages, tmp_path)


@pytest.mark.mariadb
@pytest.mark.s3
def test_analyst_journey_on_mariadb_and_seaweedfs(
    browser: Browser, mariadb_s3_service: Service, tmp_path: Path
) -> None:
    pages = open_pages(browser, mariadb_s3_service, tmp_path / "screenshots", DESKTOP)
    try:
        run_analyst_journey(
            pages, tmp_path, downloads_from=mariadb_s3_service.env["S3_ENDPOINT_URL"]
        )
    finally:
        pages.context.close()


def run_analyst_journey(pages: Pages, tmp_path: Path, downloads_from: str | None = None) -> None:
    """``downloads_from``: the S3 endpoint the presigned download links lead to, if any."""
    pages.log_in("ann")
    streams: list[str] = []
    pages.page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    analysis_id = upload_dirty_csv(pages)
    page = pages.page

    expect(page.get_by_role("heading", name="Report: messy_orders.csv")).to_be_visible()
    for name in ("Completeness", "Validity", "Uniqueness", "Consistency"):
        expect(page.get_by_label(name)).to_have_count(1)
    expect(page.get_by_text("Executive summary")).to_be_visible()
    assert page.locator("figure.chart svg").count() >= 3  # missing share, spreads, top values
    expect(
        page.locator("figure.chart figcaption", has_text="Missing share by column")
    ).to_be_visible()
    assert page.locator("#issues-table tbody tr").count() >= 5
    assert page.locator("svg rect.box").count() >= 1  # a numeric column's quartiles

    filter_box = page.get_by_label("Filter issues")
    filter_box.fill("missing_values")
    visible = page.locator("#issues-table tbody tr:visible")
    assert visible.count() >= 1
    for text in visible.all_inner_texts():
        assert "missing_values" in text
    filter_box.fill("")
    page.get_by_role("button", name="Count").click()
    counts = [
        int(c) for c in page.locator("#issues-table tbody tr td:nth-child(4)").all_inner_texts()
    ]
    assert counts == sorted(counts)
    pages.shot("report-pending")

    links = page.locator("#downloads a.button")
    assert links.count() == 4  # cleaned CSV, workbook, JSON report, Parquet row trail
    expect(page.locator("#downloads a.button.disabled")).to_have_count(0, timeout=60_000)
    expect(page.locator('#downloads [data-role="status"]', has_text="uploaded")).to_have_count(4)
    pages.shot("report-downloads-live")
    stream = f"{pages.service.base_url}/api/v1/analyses/{analysis_id}/events"
    assert stream in streams  # the job and the downloads were followed by Server-Sent Events

    with pages.service.engine().connect() as conn:
        recorded = {
            row.file_name: row.sha256
            for row in conn.execute(
                sa.select(downloads.c.file_name, downloads.c.sha256).where(
                    downloads.c.analysis_id == analysis_id
                )
            )
        }
    assert len(recorded) == 4
    seen = {}
    for index in range(4):
        with page.expect_download() as info:
            links.nth(index).click()
        target = tmp_path / "downloads" / info.value.suggested_filename
        info.value.save_as(target)
        seen[info.value.suggested_filename] = hashlib.sha256(target.read_bytes()).hexdigest()
    assert seen == recorded

    page.goto(pages.service.base_url + "/analyses")
    expect(page.get_by_role("link", name="messy_orders.csv")).to_have_count(1)
    expect(page.locator(".status", has_text="succeeded")).to_have_count(1)
    pages.shot("my-analyses")

    page.set_viewport_size(PHONE)
    page.goto(pages.service.base_url + f"/analyses/{analysis_id}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the report scrolls sideways at phone width ({width}px)"
    pages.shot("report-phone")
    assert pages.watch.errors == []
    outside = [
        u for u in pages.watch.outside if not (downloads_from and u.startswith(downloads_from))
    ]
    assert outside == []  # only the presigned download links leave the service
