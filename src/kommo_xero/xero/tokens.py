"""OAuth token sets and the calls to Xero's token endpoint.

Token values never appear in a repr, a log line or an exception message: `TokenSet` hides
them from `repr`/`str`, and errors from the token endpoint quote only Xero's error code.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from kommo_xero.transport import ApiError, AuthFailed, TransientError
from kommo_xero.xero.responses import SERVICE

REAL_LOGIN_BASE = "https://login.xero.com"
REAL_IDENTITY_BASE = "https://identity.xero.com"
REAL_API_BASE = "https://api.xero.com"
REAL_TOKEN_URL = f"{REAL_IDENTITY_BASE}/connect/token"

# Apps created from March 2026 must ask for granular scopes (reference §6.4).
GRANULAR_SCOPES = (
    "offline_access accounting.invoices accounting.payments.read accounting.contacts "
    "accounting.settings.read accounting.attachments"
)
# Older apps keep the broad scope that covers invoices and payments together.
LEGACY_SCOPES = (
    "offline_access accounting.transactions accounting.contacts accounting.settings.read "
    "accounting.attachments"
)
# Custom connections get no refresh token, so offline_access is meaningless there.
CUSTOM_CONNECTION_SCOPES = GRANULAR_SCOPES.removeprefix("offline_access ")

# Refresh this long before expiry so a request never goes out with a dying token.
REFRESH_MARGIN_S = 60.0
# Error codes from the token endpoint that mean "the grant is gone: reconnect".
_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


class TokenSet(BaseModel):
    """An access token with its expiry, and the refresh token when the grant has one."""

    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires_at: datetime
    scope: str = ""
    id_token: str | None = Field(default=None, repr=False)
    token_type: str = "Bearer"

    @classmethod
    def from_token_response(cls, payload: dict[str, Any], now: datetime) -> TokenSet:
        """Build from the token endpoint's JSON (`expires_in` seconds counted from `now`)."""
        scope = payload.get("scope") or ""
        return cls(
            access_token=str(payload["access_token"]),
            refresh_token=payload.get("refresh_token"),
            expires_at=now + timedelta(seconds=float(payload.get("expires_in") or 1800)),
            scope=" ".join(scope) if isinstance(scope, list) else str(scope),
            id_token=payload.get("id_token"),
            token_type=str(payload.get("token_type") or "Bearer"),
        )

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    def expires_within(self, seconds: float, now: datetime) -> bool:
        """True when the token is expired or will be within `seconds`."""
        return self.expires_at - timedelta(seconds=seconds) <= now

    def authorization(self) -> str:
        return f"Bearer {self.access_token}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def scope_text(scopes: str | Sequence[str]) -> str:
    return scopes if isinstance(scopes, str) else " ".join(scopes)


def token_request(
    token_url: str, client_id: str, client_secret: str, form: dict[str, str]
) -> httpx.Request:
    """A POST to the token endpoint with HTTP Basic client authentication."""
    pair = f"{client_id}:{client_secret}".encode()
    headers = {
        "Authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
        "Accept": "application/json",
    }
    return httpx.Request("POST", token_url, data=form, headers=headers)


def token_from_response(response: httpx.Response, now: datetime) -> TokenSet:
    """Parse a token endpoint answer; typed errors that quote only Xero's error code."""
    where: dict[str, Any] = {
        "status": response.status_code,
        "method": "POST",
        "url": str(response.request.url.copy_with(query=None)),
    }
    if response.status_code >= 500:
        raise TransientError(SERVICE, "Xero's token endpoint is unavailable", **where)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict):
        code = payload.get("error") if isinstance(payload, dict) else None
        if code in _GRANT_ERRORS or response.status_code == 401:
            raise AuthFailed(
                SERVICE,
                f"Xero refused the grant ({code or 'unauthorised'}): reconnect Xero",
                **where,
            )
        raise ApiError(SERVICE, f"token request failed ({code or 'no error code'})", **where)
    if "access_token" not in payload:
        raise ApiError(SERVICE, "token response holds no access_token", **where)
    return TokenSet.from_token_response(payload, now)
