"""The OAuth callbacks: where Kommo and Xero send the browser back after consent.

They are public (the person may not be logged in to the dashboard), which is safe because
a callback is accepted only with the `state` of a consent this installation started, once,
within 20 minutes. There is deliberately no public route that *starts* a consent: that
would let anyone connect their own Xero organisation to this service.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kommo_xero.config import Settings
from kommo_xero.connections.consent import (
    DONE,
    ConsentOutcome,
    ConsentRefused,
    complete_kommo,
    complete_xero,
)
from kommo_xero.connections.records import CredentialStore
from kommo_xero.connections.status import resume
from kommo_xero.connections.wiring import open_credentials
from kommo_xero.store import Store

log = structlog.get_logger(__name__)

Completer = Callable[..., Awaitable[ConsentOutcome]]


class OAuthHost(Protocol):
    """What the callbacks need of the service (the CLI's temporary receiver has it too)."""

    settings: Settings
    store: Store
    started: bool


def _page(title: str, message: str, status: int) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>kommo-xero</title></head>"
        f"<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def oauth_router(service: OAuthHost) -> APIRouter:
    router = APIRouter()
    holder: dict[str, CredentialStore] = {}

    def credentials() -> CredentialStore:
        if "store" not in holder:
            holder["store"] = open_credentials(service.settings, service.store)
        return holder["store"]

    async def handle(service_name: str, complete: Completer, request: Request) -> HTMLResponse:
        params = request.query_params
        try:
            outcome = await complete(
                service.settings,
                credentials(),
                state=params.get("state", ""),
                code=params.get("code"),
                error=params.get("error"),
            )
        except ConsentRefused as exc:
            log.warning("oauth.consent_refused", service=service_name, reason=str(exc))
            return _page("Not connected", str(exc), 400)
        log.info("oauth.connected", service=service_name, status=outcome.status)
        if outcome.status == DONE and service.started:
            try:
                connection_id = outcome.connection_id or service.settings.connection_name
                started = await resume(service.store, connection_id)
                log.info("oauth.resumed", service=service_name, workflows=len(started))
            except Exception as exc:  # the connection is stored; resuming can be retried
                log.error("oauth.resume_failed", service=service_name, error=str(exc))
        return _page("Connected" if outcome.status == DONE else "Almost done", outcome.message, 200)

    @router.get("/oauth/xero/callback", include_in_schema=False)
    async def xero_callback(request: Request) -> HTMLResponse:
        return await handle("xero", complete_xero, request)

    @router.get("/oauth/kommo/callback", include_in_schema=False)
    async def kommo_callback(request: Request) -> HTMLResponse:
        return await handle("kommo", complete_kommo, request)

    return router
