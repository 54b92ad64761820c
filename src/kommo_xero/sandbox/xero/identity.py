"""Identity endpoints: consent page, /connect/token, /connect/revocation, /connections (§6)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .api_common import sim
from .formats import new_id, problem
from .state import XeroState
from .tokens import DEFAULT_SCOPE, Grant, InvalidGrant

router = APIRouter()


def _oauth_error(error: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


@router.get("/identity/connect/authorize")
async def authorize(request: Request) -> Response:
    """Stands in for the person clicking "Allow access" (or "Cancel", see /_sim/consent)."""
    state = sim(request)
    params = request.query_params
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != state.config.client_id or not redirect_uri:
        return JSONResponse({"error": "unauthorized_client"}, status_code=400)
    if params.get("response_type") != "code":
        return _redirect(redirect_uri, {"error": "unsupported_response_type"}, params.get("state"))
    if state.consent_denied:
        return _redirect(redirect_uri, {"error": "access_denied"}, params.get("state"))
    tenant_ids = state.consent_tenants or list(state.orgs)
    grant = Grant(
        grant_id=new_id(),
        client_id=state.config.client_id,
        scope=params.get("scope") or DEFAULT_SCOPE,
        tenant_ids=[t for t in tenant_ids if t in state.orgs],
        auth_event_id=new_id(),
    )
    code = state.tokens.issue_code(grant, redirect_uri, state.now())
    return _redirect(redirect_uri, {"code": code, "scope": grant.scope}, params.get("state"))


def _redirect(uri: str, values: dict[str, str], client_state: str | None) -> RedirectResponse:
    if client_state is not None:
        values["state"] = client_state
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{joiner}{urlencode(values)}", status_code=302)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


@router.post("/connect/token")
async def token(request: Request) -> Response:
    state = sim(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    client_id, secret = _client_credentials(request, form)
    if client_id != state.config.client_id or secret != state.config.client_secret:
        return _oauth_error("invalid_client")
    grant_type = form.get("grant_type", "")
    now = state.now()
    body: dict[str, Any]
    try:
        if grant_type == "authorization_code":
            entry = state.tokens.codes.get(form.get("code", ""))
            body = state.tokens.redeem_code(form.get("code", ""), form.get("redirect_uri"), now)
            if entry is not None:
                names = {o.tenant_id: o.tenant.name for o in state.orgs.values()}
                state.tokens.connect(entry[0], names, now)
        elif grant_type == "refresh_token":
            body = state.tokens.use_refresh(form.get("refresh_token", ""), client_id, now)
        elif grant_type == "client_credentials":
            body = _custom_connection(state, form.get("scope", ""))
        else:
            return _oauth_error("unsupported_grant_type")
    except InvalidGrant:
        return _oauth_error("invalid_grant")
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _custom_connection(state: XeroState, scope: str) -> dict[str, Any]:
    """A Custom Connection: no refresh token, bound to the first organisation."""
    grant = Grant(
        grant_id=new_id(),
        client_id=state.config.client_id,
        scope=scope or "accounting.transactions accounting.contacts accounting.settings",
        tenant_ids=[state.first_org.tenant_id],
        auth_event_id=new_id(),
        custom=True,
    )
    return state.tokens.token_set(grant, state.now(), with_refresh=False)


@router.post("/connect/revocation")
async def revocation(request: Request) -> Response:
    state = sim(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    client_id, secret = _client_credentials(request, form)
    if client_id != state.config.client_id or secret != state.config.client_secret:
        return _oauth_error("invalid_client")
    state.tokens.revoke(form.get("token", ""))
    return Response(status_code=200)


def _bearer_grant(request: Request) -> Grant | None:
    state = sim(request)
    header = request.headers.get("authorization", "")
    record = (
        state.tokens.access.get(header[7:].strip())
        if header.lower().startswith("bearer ")
        else None
    )
    if record is None or record.grant.revoked or record.expires_at <= state.now():
        return None
    return record.grant


def _unauthorized() -> JSONResponse:
    return JSONResponse(problem(401, "Unauthorized", "AuthenticationUnsuccessful"), status_code=401)


@router.get("/connections")
async def connections(request: Request) -> Response:
    state = sim(request)
    if _bearer_grant(request) is None:
        return _unauthorized()
    wanted = request.query_params.get("authEventId")
    rows = [
        {
            "id": c.connection_id,
            "authEventId": c.auth_event_id,
            "tenantId": c.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": c.tenant_name,
            "createdDateUtc": c.created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0",
            "updatedDateUtc": c.updated.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0",
        }
        for c in state.tokens.connections.values()
        if not wanted or c.auth_event_id == wanted
    ]
    return JSONResponse(rows)


@router.delete("/connections/{connection_id}")
async def disconnect(request: Request, connection_id: str) -> Response:
    state = sim(request)
    if _bearer_grant(request) is None:
        return _unauthorized()
    for tenant_id, connection in list(state.tokens.connections.items()):
        if connection.connection_id == connection_id:
            del state.tokens.connections[tenant_id]
            return Response(status_code=204)
    return JSONResponse({"Title": "Not Found", "Status": 404}, status_code=404)
