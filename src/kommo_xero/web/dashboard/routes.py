"""`dashboard_router(service)`: every dashboard route, plus its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

from kommo_xero.bootstrap import Service
from kommo_xero.store.sign_in import SignInFailures
from kommo_xero.web.dashboard.actions import add_actions
from kommo_xero.web.dashboard.app_context import Dashboard
from kommo_xero.web.dashboard.auth import PREFIX, Auth, DashboardConfig
from kommo_xero.web.dashboard.pages import add_pages
from kommo_xero.web.dashboard.render import make_environment

STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def dashboard_router(service: Service, config: DashboardConfig | None = None) -> APIRouter:
    """All dashboard pages under /dashboard (sign-in required) and its static files."""
    config = config or DashboardConfig()
    settings = service.settings.service
    board = Dashboard(
        service=service,
        config=config,
        auth=Auth(
            config,
            settings.data_dir,
            settings.public_url,
            SignInFailures(service.store.engine),
        ),
        env=make_environment(),
    )
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, 307)

    @router.get(f"{PREFIX}/static/{{name}}")
    def static(name: str) -> FileResponse:
        # A fixed folder and a bare file name: no path can climb out of it.
        path = STATIC / name
        if "/" in name or path.suffix not in _STATIC_TYPES or not path.is_file():
            raise HTTPException(404)
        return FileResponse(
            path,
            media_type=_STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "public, max-age=300"},
        )

    add_actions(router, board)
    add_pages(router, board)
    return router


def mount_static(app: FastAPI) -> None:
    """Nothing to mount: the router serves /dashboard/static itself. Kept for symmetry."""
    del app
