"""An auditor sees uploads fail while the store cannot take them, restores it, requeues the
failures with a reason and a confirmation, watches them turn ``uploaded``, and finds the
requeue with its reason and actor in the history."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import Pages
from tests.browser.test_analyst_journey import DIRTY_CSV
from tests.e2e.api.conftest import Service, start_service, stop_service


def wait_for_failures(service: Service, analysis_id: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    with service.client("aud") as client:
        while time.monotonic() < deadline:
            items = client.get("/api/v1/downloads", params={"status": "upload_failed"}).json()
            if len([i for i in items["items"] if i["analysis_id"] == analysis_id]) == 4:
                return
            time.sleep(0.5)
    raise AssertionError(f"the four uploads did not fail:\n{service.log_text()[-3000:]}")


def test_auditor_requeues_failed_uploads_and_finds_the_requeue_in_history(
    pages: Pages, tmp_path: Path
) -> None:
    service = pages.service
    stop_service(service)
    service.env |= {"RELAY_MAX_ATTEMPTS": "1", "RELAY_BACKOFF_BASE_SECONDS": "0.1"}
    blocker = tmp_path / "store" / service.env.get("APP_ENV", "dev")
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory: the store cannot write under this prefix")
    start_service(service)

    with service.client("ann") as client:
        answer = client.post(
            "/api/v1/analyses",
            params={"file_name": DIRTY_CSV.name},
            content=DIRTY_CSV.read_bytes(),
        )
    assert answer.status_code == 202, answer.text
    analysis_id = answer.json()["job"]["analysis_id"]
    wait_for_failures(service, analysis_id)

    pages.log_in("aud")
    page = pages.page
    expect(page).to_have_url(service.base_url + "/audit")
    expect(page.locator("#failures-chart")).to_be_visible()
    expect(page.locator("figure.chart svg rect.bar")).not_to_have_count(0)
    pages.shot("dashboard-failures")

    page.get_by_role("link", name="Failed downloads").first.click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    pages.shot("failed-downloads")

    page.get_by_label(re.compile("^Reason")).fill("store prefix repaired")
    page.get_by_role("button", name=re.compile("Requeue selected")).click()  # nothing chosen
    expect(page.get_by_role("alert")).to_contain_text("Select at least one")
    page.get_by_label("Select all").check()
    expect(page.get_by_label(re.compile("^Reason"))).to_have_value("store prefix repaired")
    blocker.unlink()
    page.get_by_role("button", name=re.compile("Requeue selected")).click()
    expect(page.get_by_role("heading", name="Confirm the requeue")).to_be_visible()
    expect(page.locator("blockquote")).to_have_text("store prefix repaired")
    pages.shot("requeue-confirm")
    dashboard = pages.context.new_page()
    pages.watch.attach(dashboard)
    dashboard.goto(service.base_url + "/audit")
    expect(dashboard.locator('[data-stat="downloads.upload_failed"]')).to_have_text("4")
    page.get_by_role("button", name="Yes, requeue").click()
    expect(page.locator("td.verdict", has_text="requeued")).to_have_count(4)
    pages.shot("requeue-done")

    page.goto(f"{service.base_url}/analyses/{analysis_id}")
    expect(page.locator('#downloads [data-role="status"]', has_text="uploaded")).to_have_count(
        4, timeout=60_000
    )
    expect(page.locator("#downloads a.button.disabled")).to_have_count(0)
    pages.shot("report-uploaded-after-requeue")
    # the dashboard opened before the requeue follows the stats stream without a reload
    expect(dashboard.locator('[data-stat="downloads.uploaded"]')).to_have_text("4", timeout=30_000)
    expect(dashboard.locator('[data-stat="downloads.upload_failed"]')).to_have_text("0")
    dashboard.screenshot(path=str(pages.shots / "dashboard-live-after-requeue.png"), full_page=True)
    dashboard.close()

    page.goto(f"{service.base_url}/audit/history")
    page.get_by_label("Analysis id").fill(analysis_id)
    page.get_by_label("Outcome").fill("requeued")
    page.get_by_role("button", name="Filter").click()
    requeues = page.locator("#history-table tbody tr")
    expect(requeues).to_have_count(4)
    for text in requeues.all_inner_texts():
        assert "web:aud" in text
        assert "store prefix repaired" in text
    pages.shot("history-requeues")
    csv_link = page.get_by_role("link", name="Export as CSV")
    exported = page.request.get(service.base_url + str(csv_link.get_attribute("href")))
    assert exported.status == 200
    assert exported.text().count("store prefix repaired") == 4
    refused = "status of 422 (Unprocessable Entity) @ " + service.base_url + "/audit/failed/requeue"
    assert [e for e in pages.watch.errors if not e.endswith(refused)] == []
    assert len(pages.watch.errors) == 1  # the browser logs the refused empty selection
    assert pages.watch.outside == []
