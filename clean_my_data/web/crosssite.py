"""Open mode (no API token, loopback only) authenticates nobody: any page the local browser
opens could otherwise make it submit or requeue. A request with an unsafe method is refused
(403 problem+json) when the browser says it comes from another site or origin:
``Sec-Fetch-Site`` other than ``same-origin`` or ``none`` (typed or bookmarked), or an
``Origin``/``Referer`` naming another origin. Clients that send neither (curl, scripts) pass.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from starlette.responses import Response

from clean_my_data.web.pages.sessions import same_origin
from clean_my_data.web.problems import problem_response

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_FETCH_SITES: Final = frozenset({"same-origin", "none"})


def is_cross_site(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in OWN_FETCH_SITES:
        return True
    return not same_origin(request)


def install_cross_site_guard(app: FastAPI) -> None:
    """Refuse cross-site writes while ``app.state.open_access`` holds."""

    @app.middleware("http")
    async def _refuse_cross_site(request: Request, call_next: Any) -> Response:
        if (
            request.app.state.open_access
            and request.method not in SAFE_METHODS
            and is_cross_site(request)
        ):
            return problem_response(
                403,
                "cross-site requests may not change anything on a server without API tokens",
                kind="cross-site-refused",
                title="Cross-site request refused",
                instance=request.url.path,
            )
        response: Response = await call_next(request)
        return response
