"""Assemble the simulator: routes, the accounting gate, fault injection, /_sim control."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..faults import SimulatorMiddleware, SimulatorTraffic, control_router
from . import api_contacts, api_invoice_extras, api_invoices, api_settings, control, identity
from .api_common import BadRequest
from .config import XeroSimConfig
from .gate import AccountingGate
from .state import XeroState

API = "/api.xro/2.0"


def create_app(config: XeroSimConfig | None = None) -> FastAPI:
    """A Xero look-alike; `app.state.sim` is its XeroState, `app.state.traffic` its faults."""
    config = config or XeroSimConfig()
    state = XeroState(config)
    traffic = SimulatorTraffic(seed=config.seed)
    app = FastAPI(title="Xero simulator", docs_url="/_sim/docs", openapi_url="/_sim/openapi.json")
    app.state.sim = state
    app.state.traffic = traffic
    for module in (api_invoices, api_invoice_extras, api_contacts, api_settings):
        app.include_router(module.router, prefix=API)
    app.include_router(api_invoice_extras.online_router)
    app.include_router(identity.router)
    app.include_router(control_router(traffic), prefix="/_sim")
    app.include_router(control.router, prefix="/_sim")

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse(exc.body, status_code=400)

    # Outermost first: faults/call counting see every call, then the gate (auth, limits).
    app.add_middleware(AccountingGate, state=state)
    app.add_middleware(SimulatorMiddleware, traffic=traffic)
    return app
