"""The FastAPI app: webhook receivers and health endpoints (the dashboard mounts here too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kommo_xero.bootstrap import Service
from kommo_xero.observability import metrics_router
from kommo_xero.web.dashboard import DashboardConfig, dashboard_router
from kommo_xero.web.health import health_router
from kommo_xero.web.kommo_hooks import kommo_router
from kommo_xero.web.oauth import oauth_router
from kommo_xero.web.xero_hooks import xero_router


def create_app(service: Service, dashboard: DashboardConfig | None = None) -> FastAPI:
    """The service's web app; starting it starts the engine and the connections."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The engine is launched from the server's event loop so that workflows run on it.
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="kommo-xero", lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    app.state.service = service
    app.include_router(kommo_router(service))
    app.include_router(xero_router(service))
    app.include_router(health_router(service))
    app.include_router(oauth_router(service))
    app.include_router(metrics_router())
    app.include_router(dashboard_router(service, dashboard))
    return app
