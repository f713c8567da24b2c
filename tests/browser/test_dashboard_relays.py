"""The dashboard lists the relays that sent a heartbeat: the one running inside ``serve`` is
live with its last batch once it has uploaded something; a relay gone silent is stale."""

from __future__ import annotations

import time
from datetime import timedelta

from playwright.sync_api import expect

from outbox.clock import utcnow
from outbox.heartbeats import STALE_AFTER_SECONDS, BatchOutcome, RelayIdentity, record_heartbeat
from tests.browser.conftest import Pages
from tests.browser.test_analyst_journey import DIRTY_CSV


def wait_for_batch(pages: Pages, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    with pages.service.client("aud") as client:
        while time.monotonic() < deadline:
            relays = client.get("/api/v1/relays").json()["relays"]
            if relays and relays[0]["last_batch"] is not None:
                return dict(relays[0])
            time.sleep(0.5)
    raise AssertionError(f"no relay reported a batch:\n{pages.service.log_text()[-3000:]}")


def test_dashboard_shows_live_and_stale_relays_with_their_last_batch(pages: Pages) -> None:
    service = pages.service
    with service.client("ann") as client:
        answer = client.post(
            "/api/v1/analyses", params={"file_name": DIRTY_CSV.name}, content=DIRTY_CSV.read_bytes()
        )
    assert answer.status_code == 202, answer.text
    live = wait_for_batch(pages)
    assert live["stale"] is False
    engine = service.engine()
    gone = utcnow() - timedelta(seconds=STALE_AFTER_SECONDS + 60)
    silent = RelayIdentity("relay-gone", "old-host", 7, "0.0.1", "default", gone)
    record_heartbeat(engine, silent, gone, BatchOutcome(gone, 3, {"failed": 3}, 99))
    engine.dispose()

    pages.log_in("aud")
    page = pages.page
    relays = page.locator("#relays tbody tr")
    expect(relays).to_have_count(2)
    first = page.locator(f'#relays tr[data-relay-id="{live["relay_id"]}"]')
    expect(first.locator(".status")).to_have_text("live")
    expect(first).to_contain_text("uploaded")
    stale = page.locator('#relays tr[data-relay-id="relay-gone"]')
    expect(stale.locator(".status")).to_have_text("stale")
    expect(stale).to_contain_text("3 claimed: failed 3")
    expect(stale).to_contain_text("old-host, pid 7")
    pages.shot("dashboard-relays")
    assert pages.watch.errors == []
