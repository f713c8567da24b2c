"""Open mode (no API token, loopback only) authenticates nobody: any page the local browser
opens could otherwise make it submit or requeue. So, in open mode:

- a request with an unsafe method is refused (403 problem+json) when the browser says it comes
  from another site or origin: ``Sec-Fetch-Site`` other than ``same-origin`` or ``none`` (typed
  or bookmarked), or an ``Origin``/``Referer`` naming another origin. Clients that send neither
  (curl, scripts) pass;
- any request whose ``Host`` is not a loopback name or address is refused: a site whose name
  was made to resolve to 127.0.0.1 (DNS rebinding) is same-origin to the browser, not to this.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from clean_my_data.web.pages.sessions import same_origin
from clean_my_data.web.problems import problem_response

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_FETCH_SITES: Final = frozenset({"same-origin", "none"})


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.1``, ``::1``)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def names_loopback(host_header: str) -> bool:
    """A ``Host`` header (``name[:port]``, ``[v6]:port``) naming this machine's loopback."""
    if "@" in host_header:
        return False
    try:
        hostname = urlsplit("//" + host_header).hostname
    except ValueError:
        return False
    return hostname is not None and is_loopback(hostname)


def is_cross_site(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in OWN_FETCH_SITES:
        return True
    return not same_origin(request)


class _RefuseCrossSite:
    """A plain ASGI middleware: it reads the request's headers once and leaves ``receive``
    alone, so a streamed upload body reaches the route without a wrapper around every chunk."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["app"].state.open_access:
            refusal = _refusal(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _refusal(request: Request) -> Response | None:
    """The 403 answer to a request an open-mode server must not serve, or None."""
    if not names_loopback(request.headers.get("host", "")):
        return problem_response(
            403,
            "a server without API tokens answers only requests addressed to a loopback name "
            "(127.0.0.1, localhost, ::1)",
            kind="host-refused",
            title="Host refused",
            instance=request.url.path,
        )
    if request.method not in SAFE_METHODS and is_cross_site(request):
        return problem_response(
            403,
            "cross-site requests may not change anything on a server without API tokens",
            kind="cross-site-refused",
            title="Cross-site request refused",
            instance=request.url.path,
        )
    return None


def install_cross_site_guard(app: FastAPI) -> None:
    """Refuse other hosts and cross-site writes while ``app.state.open_access`` holds."""
    app.add_middleware(_RefuseCrossSite)
