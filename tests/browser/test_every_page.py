"""Every page, at desktop and phone width: no JavaScript error, no request outside the
service, and no page wider than the window."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from tests.browser.conftest import DESKTOP, PHONE, open_pages
from tests.browser.test_analyst_journey import upload_dirty_csv
from tests.e2e.api.conftest import Service

PAGES = (
    "/upload",
    "/analyses",
    "/analyses/{id}",
    "/audit",
    "/audit/history",
    "/audit/history?analysis_id={id}",
    "/audit/failed",
)


def test_no_page_logs_an_error_or_loads_from_outside(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        pages = open_pages(browser, service, tmp_path / label, viewport)
        try:
            pages.log_in("root")
            if label == "desktop":
                analysis_id = upload_dirty_csv(pages)
            for path in PAGES:
                answer = pages.page.goto(service.base_url + path.format(id=analysis_id))
                assert answer is not None
                assert answer.status == 200, path
                pages.page.wait_for_load_state("networkidle")
                pages.shot(path.strip("/").split("?")[0].replace("/", "-").replace("{id}", "id"))
                if label == "phone":
                    width = pages.page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"], f"{path} is {width}px wide"
                pages.page.keyboard.press("Tab")
                focused = pages.page.evaluate("document.activeElement.textContent")
                assert focused == "Skip to content", path
            assert pages.watch.errors == []
            assert pages.watch.outside == []
        finally:
            pages.context.close()
