"""With no API token configured (loopback only), the pages follow the API: no login, every
visitor is the local administrator; forms still need the CSRF token of the page."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from outbox.tables import analysis_jobs
from tests.browser.conftest import DESKTOP, open_pages
from tests.e2e.api.conftest import Service, base_env, free_port, start_service, stop_service


@pytest.fixture
def open_service(tmp_path: Path) -> Iterator[Service]:
    env = base_env(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["ARTIFACT_STORE_URL"] = f"file://{tmp_path / 'store'}"
    svc = Service(f"http://127.0.0.1:{free_port()}", env, tmp_path / "serve.log")
    start_service(svc)
    try:
        yield svc
    finally:
        stop_service(svc)
        shutil.rmtree(tmp_path / "scratch", ignore_errors=True)


def test_open_mode_needs_no_login_but_forms_keep_csrf(
    browser: Browser, open_service: Service, tmp_path: Path
) -> None:
    pages = open_pages(browser, open_service, tmp_path / "screenshots", DESKTOP)
    try:
        page = pages.page
        page.goto(open_service.base_url + "/login?next=/audit/failed")
        expect(page).to_have_url(open_service.base_url + "/audit/failed")
        expect(page.locator(".who")).to_have_text("local (admin)")
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
        pages.shot("open-mode-failed")
        refused = page.request.post(
            open_service.base_url + "/audit/failed/requeue",
            form={"download_id": "x", "reason": "r", "confirmed": "yes"},
        )
        assert refused.status == 403
        assert pages.watch.errors == []
    finally:
        pages.context.close()


ATTACKER = "http://attacker.test"


def test_a_page_of_another_site_cannot_make_the_browser_submit(
    browser: Browser, open_service: Service, tmp_path: Path
) -> None:
    """A form on another site posting to the local service: refused with a problem, no job."""
    pages = open_pages(browser, open_service, tmp_path / "screenshots", DESKTOP)
    try:
        page = pages.page
        html = (
            "<!doctype html><title>prize</title>"
            f'<form method="post" action="{open_service.base_url}/api/v1/analyses?file_name=x.csv"'
            ' enctype="text/plain"><input name="a,b&#10;1" value="2">'
            '<button type="submit">Win</button></form>'
        )
        page.route(
            ATTACKER + "/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body=html),
        )
        page.goto(ATTACKER + "/prize")
        with page.expect_response(re.compile(r"/api/v1/analyses")) as answered:
            page.get_by_role("button", name="Win").click()
        response = answered.value
        assert response.status == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert "cross-site" in response.text()
    finally:
        pages.context.close()
    engine = open_service.engine()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0
    engine.dispose()
