"""An analyst cannot open another analyst's report or any auditor page; forms and API writes
posted from another origin or without the CSRF token are refused."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Pages
from tests.browser.test_analyst_journey import upload_dirty_csv


def test_an_analyst_sees_only_their_own_and_no_auditor_page(pages: Pages) -> None:
    pages.log_in("ann")
    analysis_id = upload_dirty_csv(pages)
    page = pages.page
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("/login"))

    pages.log_in("bob")
    base = pages.service.base_url
    answer = page.goto(f"{base}/analyses/{analysis_id}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("alert")).to_contain_text("no analysis")
    pages.shot("other-analysts-report")
    api = page.request.get(f"{base}/api/v1/analyses/{analysis_id}")
    assert api.status == 404
    for path in ("/audit", "/audit/history", "/audit/failed"):
        answer = page.goto(base + path)
        assert answer is not None
        assert answer.status == 403, path
        expect(page.get_by_role("alert")).to_contain_text("for auditors")
    pages.shot("auditor-page-refused")
    assert page.request.get(f"{base}/api/v1/stats").status == 403
    page.goto(f"{base}/analyses")
    expect(page.get_by_text("No analyses yet")).to_be_visible()
    pages.shot("bob-has-no-analyses")


def test_forms_from_another_origin_or_without_csrf_are_refused(pages: Pages) -> None:
    pages.log_in("aud")
    base = pages.service.base_url
    page = pages.page
    page.goto(base + "/audit/failed")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    form = {"csrf_token": token, "download_id": "x", "reason": "r", "confirmed": "yes"}

    foreign = page.request.post(
        base + "/audit/failed/requeue", form=form, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status == 403
    assert "refused" in foreign.text()
    missing = page.request.post(
        base + "/audit/failed/requeue", form={**form, "csrf_token": "forged"}
    )
    assert missing.status == 403
    accepted = page.request.post(base + "/audit/failed/requeue", form=form)
    assert accepted.status == 200  # a known form reaches the requeue (nothing to requeue)
    assert "refused" in accepted.text() or "no download" in accepted.text().lower()

    logout = page.request.post(base + "/logout", form={"csrf_token": "forged"})
    assert logout.status == 403
    api = page.request.post(
        base + "/api/v1/downloads/x/requeue", data={"reason": "r"}, headers={"Origin": base}
    )
    assert api.status == 403  # the cookie alone does not authorise a write
    api = page.request.post(
        base + "/api/v1/downloads/x/requeue",
        data={"reason": "r"},
        headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
    )
    assert api.status == 403
    api = page.request.post(
        base + "/api/v1/downloads/x/requeue", data={"reason": "r"}, headers={"X-CSRF-Token": token}
    )
    assert api.status == 404  # accepted as the auditor; the download does not exist
    page.goto(base + "/audit")
    pages.shot("auditor-still-logged-in")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_login_refuses_a_wrong_token_and_the_cookie_is_strict(pages: Pages) -> None:
    base = pages.service.base_url
    page = pages.page
    page.goto(base + "/audit")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faudit"))
    page.get_by_label("API token").fill("cmd_not-a-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    pages.shot("login-refused")
    page.get_by_label("API token").fill(pages.service.tokens["aud"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base + "/audit")
    cookies = [c for c in pages.context.cookies() if c["name"] == "cmd_session"]
    assert len(cookies) == 1
    assert cookies[0]["httpOnly"] is True
    assert cookies[0]["sameSite"] == "Strict"
