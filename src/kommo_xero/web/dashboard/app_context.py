"""What every dashboard route shares: the service, sign-in, templates, and page rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from kommo_xero.bootstrap import Service
from kommo_xero.web.dashboard.auth import PREFIX, Auth, DashboardConfig
from kommo_xero.web.dashboard.render import render
from kommo_xero.web.dashboard.sandbox_panel import sandbox_urls

NAV = (
    ("overview", "Overview", PREFIX),
    ("links", "Links", f"{PREFIX}/links"),
    ("parked", "Parked work", f"{PREFIX}/parked"),
    ("settings", "Settings", f"{PREFIX}/settings"),
)


@dataclass
class Dashboard:
    service: Service
    config: DashboardConfig
    auth: Auth
    env: Environment

    def page(
        self, request: Request, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        nav = list(NAV)
        if sandbox_urls(self.service) is not None:
            nav.append(("sandbox", "Sandbox", f"{PREFIX}/sandbox"))
        html = render(
            self.env,
            template,
            request=request,
            prefix=PREFIX,
            nav=nav,
            signed_in=self.auth.session(request) is not None,
            csrf_token=self.auth.csrf_token(request),
            poll_ms=self.config.poll_interval_ms,
            message=request.query_params.get("msg", ""),
            error=request.query_params.get("err", ""),
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        # Pages hold per-browser tokens and live data: never cache them.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        self.auth.set_csrf_cookie(request, response)
        return response


def back_to(path: str, *, msg: str = "", err: str = "") -> RedirectResponse:
    """Post/redirect/get: a reload after an action never repeats it."""
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in (("msg", msg), ("err", err)) if v})
    return RedirectResponse(f"{path}{'?' + query if query else ''}", status_code=303)
