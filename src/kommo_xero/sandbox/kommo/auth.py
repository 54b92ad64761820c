"""Bearer checks for the API, and the OAuth 2.0 endpoints (consent redirect, token exchange)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from kommo_xero.sandbox.kommo.responses import ApiProblem, hal, json_body
from kommo_xero.sandbox.kommo.state import KommoState


def sim(request: Request) -> KommoState:
    state: KommoState = request.app.state.sim
    return state


class OAuthProblem(ApiProblem):
    """The OAuth error body amoCRM/Kommo send for bad or revoked grants (reference §11.1)."""

    def __init__(self, hint: str, status: int = 401) -> None:
        super().__init__(status, "Некорректный запрос", hint)
        self.body = {
            "hint": hint,
            "title": "Некорректный запрос",
            "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
            "status": status,
            "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
        }


def require_user(request: Request) -> int:
    """The user a valid Bearer token acts as (both token kinds act as the admin user)."""
    state = sim(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    with state.lock:
        config = state.config
        valid = scheme.lower() == "bearer" and (
            (token == config.long_lived_token and not state.tokens.long_lived_revoked)
            or state.tokens.access_valid(token, state.now_float())
        )
    if not valid:
        raise ApiProblem(401, "Unauthorized", "Invalid user name or password")
    return config.user_id


router = APIRouter()


@router.get("/oauth")
def consent(request: Request) -> Response:
    """Plays the consent page: the user always presses "Allow" at once."""
    state = sim(request)
    params = request.query_params
    if params.get("client_id") != state.config.client_id:
        raise ApiProblem(400, "Bad Request", "Unknown client_id")
    redirect_uri = params.get("redirect_uri") or state.config.oauth_redirect_uri
    with state.lock:
        code = state.tokens.issue_code(
            redirect_uri, state.now_float() + state.config.authorization_code_ttl
        )
    query = {
        "code": code,
        "state": params.get("state", ""),
        "referer": request.url.netloc,
        "client_id": state.config.client_id,
    }
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)


@router.post("/oauth2/access_token")
async def access_token(request: Request) -> Response:
    state = sim(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise OAuthProblem("Request body should be an object", 400)
    config = state.config
    if (
        body.get("client_id") != config.client_id
        or body.get("client_secret") != config.client_secret
    ):
        raise OAuthProblem("Client authentication failed", 401)
    grant = body.get("grant_type")
    with state.lock:
        now = state.now_float()
        if grant == "authorization_code":
            code = state.tokens.take_code(str(body.get("code", "")), now)
            if code is None:
                raise OAuthProblem("Authorization code has expired", 400)
            if body.get("redirect_uri") and body["redirect_uri"] != code.redirect_uri:
                raise OAuthProblem("Authorization code was not issued to this redirect_uri", 400)
            used = None
        elif grant == "refresh_token":
            used = str(body.get("refresh_token", ""))
            if not state.tokens.use_refresh(used):
                raise OAuthProblem("Token has been revoked", 401)
        else:
            raise OAuthProblem("The authorization grant type is not supported", 400)
        claims: dict[str, Any] = {
            "aud": config.client_id,
            "iat": int(now),
            "exp": int(now) + config.access_token_ttl,
            "account_id": config.account_id,
            "sub": str(config.user_id),
            "api_domain": request.url.netloc,
            "scopes": ["crm", "files", "notifications"],
        }
        access, refresh = state.tokens.issue_pair(claims, now + config.access_token_ttl)
        if used is not None:
            state.tokens.link(used, refresh)
    return hal(
        {
            "token_type": "Bearer",
            "expires_in": config.access_token_ttl,
            "server_time": int(now),
            "access_token": access,
            "refresh_token": refresh,
        }
    )
