"""Assemble the Kommo simulator app: API routes, OAuth, drive, control API, limits, webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kommo_xero.sandbox.faults import SimulatorMiddleware, SimulatorTraffic, control_router
from kommo_xero.sandbox.kommo import (
    api_events,
    api_files,
    api_leads,
    api_links,
    api_meta,
    api_notes,
    api_parties,
    auth,
    control,
    control_admin,
)
from kommo_xero.sandbox.kommo.config import KommoSimConfig
from kommo_xero.sandbox.kommo.dispatcher import WebhookDispatcher
from kommo_xero.sandbox.kommo.ratelimit import KommoLimitsMiddleware
from kommo_xero.sandbox.kommo.responses import ApiProblem, problem_response
from kommo_xero.sandbox.kommo.state import KommoState
from kommo_xero.sandbox.kommo.validation import ValidationFailed


def create_app(config: KommoSimConfig | None = None) -> FastAPI:
    """A fresh simulated account; `app.state.sim` is its KommoState."""
    config = config or KommoSimConfig()
    state = KommoState(config)
    dispatcher = WebhookDispatcher(state)
    traffic = SimulatorTraffic(seed=config.seed)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(dispatcher.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Kommo simulator",
        lifespan=lifespan,
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )
    app.state.sim = state
    app.state.dispatcher = dispatcher
    app.state.traffic = traffic
    _add_error_handlers(app)
    # Specific /leads/... routes first so that "pipelines" or "notes" never look like an id.
    app.include_router(api_meta.router)
    for entity in ("leads", "contacts", "companies", "catalogs"):
        app.include_router(api_meta.fields_router(entity))
    for kind in ("leads", "contacts", "companies"):
        app.include_router(api_notes.notes_router(kind))
    app.include_router(api_leads.router)
    app.include_router(api_links.router)
    app.include_router(api_files.router)
    app.include_router(api_parties.party_router("contacts"))
    app.include_router(api_parties.party_router("companies"))
    app.include_router(api_events.router)
    app.include_router(auth.router)
    app.include_router(control_router(traffic), prefix="/_sim")
    app.include_router(control.router, prefix="/_sim")
    app.include_router(control_admin.router, prefix="/_sim")
    app.add_middleware(KommoLimitsMiddleware, state=state)
    app.add_middleware(SimulatorMiddleware, traffic=traffic)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.body)

    @app.exception_handler(ValidationFailed)
    async def validation_failed(request: Request, exc: ValidationFailed) -> Response:
        return problem_response(400, exc.body())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        detail = f"Cannot {request.method} {request.url}" if exc.status_code == 404 else exc.detail
        body = {
            "title": titles.get(exc.status_code, "Error"),
            "type": f"https://httpstatus.es/{exc.status_code}",
            "status": exc.status_code,
            "detail": detail,
        }
        return problem_response(exc.status_code, body)
