"""Login sessions live in the database: a session opened on one ``serve`` process is valid on
another serving the same database, and survives a restart; logging out or revoking the token
ends it everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages
from tests.e2e.api.conftest import Service, free_port, start_service, stop_service


@pytest.fixture
def replica(pages: Pages, tmp_path: Path) -> Iterator[Service]:
    """A second ``serve`` (no worker) on the first one's database and store."""
    first = pages.service
    second = Service(f"http://127.0.0.1:{free_port()}", dict(first.env), tmp_path / "replica.log")
    second.tokens = first.tokens
    start_service(second, "--no-worker")
    try:
        yield second
    finally:
        stop_service(second)


def test_a_session_holds_across_replicas_and_restarts_until_revoked(
    pages: Pages, replica: Service
) -> None:
    service, page = pages.service, pages.page
    pages.log_in("aud")
    # cookies are not scoped by port: the browser sends the session to the replica too
    page.goto(replica.base_url + "/audit/history")
    expect(page).to_have_url(replica.base_url + "/audit/history")
    expect(page.locator(".who")).to_have_text("aud (auditor)")
    pages.shot("replica-logged-in")

    stop_service(service)
    start_service(service)
    page.goto(service.base_url + "/audit")
    expect(page).to_have_url(service.base_url + "/audit")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    accepted = page.request.post(
        replica.base_url + "/api/v1/downloads/x/requeue",
        data={"reason": "r"},
        headers={"X-CSRF-Token": token or ""},
    )
    assert accepted.status == 404  # the replica accepts the session's CSRF token

    revoked = service.cli("token", "revoke", "aud")
    assert revoked.returncode == 0, revoked.stderr
    for base in (service.base_url, replica.base_url):
        page.goto(base + "/audit")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Faudit$"))
        assert page.request.get(base + "/api/v1/stats").status == 401
    pages.shot("revoked-logged-out")
    assert pages.watch.errors == []


def test_logging_out_ends_the_session_on_every_replica(pages: Pages, replica: Service) -> None:
    page = pages.page
    pages.log_in("ann")
    session = next(c for c in pages.context.cookies() if c["name"] == "cmd_session")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("/login"))
    pages.context.add_cookies([session])  # a copy kept from before the logout
    for base in (pages.service.base_url, replica.base_url):
        page.goto(base + "/analyses")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fanalyses$"))


def test_behind_a_tls_proxy_both_cookies_are_secure(service: Service) -> None:
    """``X-Forwarded-Proto: https`` from the proxy on this host: the cookies get ``Secure``."""
    https = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=service.base_url) as client:
        page = client.get("/login", headers=https)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert match is not None
        csrf = match[1]
        answer = client.post(
            "/login",
            headers={**https, "Cookie": f"cmd_csrf={csrf}"},
            data={"csrf_token": csrf, "token": service.tokens["aud"], "next": "/audit"},
        )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/audit"
    for response, name in ((page, "cmd_csrf"), (answer, "cmd_session")):
        [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(name + "=")]
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes, cookie
