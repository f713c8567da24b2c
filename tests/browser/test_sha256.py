"""The upload page's SHA-256 (static/sha256.js) against Python's hashlib: WebCrypto on a
loopback page, and the sliced implementation that larger files and plain-http pages use, at
every padding boundary and across the 4 MiB slices."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import Browser

from tests.e2e.api.conftest import Service

SIZES = (0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4 * 1024 * 1024 + 7, 9_000_001)
HASH = """async ([size, sliced]) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) { bytes[i] = (i * 7 + (i >> 8)) & 255; }
  const hash = sliced ? window.cmdSha256.inSlices : window.cmdSha256;
  return await new Promise((done, fail) => hash(new Blob([bytes]), () => {}, done, fail));
}"""


def expected(size: int) -> str:
    return hashlib.sha256(bytes((i * 7 + (i >> 8)) & 255 for i in range(size))).hexdigest()


@pytest.mark.parametrize("sliced", [False, True], ids=["webcrypto", "slices"])
def test_the_browser_hash_equals_hashlib(browser: Browser, service: Service, sliced: bool) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(service.base_url + "/login")
        page.add_script_tag(url="/static/sha256.js")
        assert page.evaluate("() => window.isSecureContext && !!window.crypto.subtle")
        for size in SIZES:
            assert page.evaluate(HASH, [size, sliced]) == expected(size), size
    finally:
        context.close()
