"""Kommo credentials as httpx auth flows: a fixed Bearer token, and OAuth with refresh.

Token values never appear in reprs, exception messages or logs: errors quote what Kommo said
with every secret we sent scrubbed out.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, Field

from kommo_xero.kommo._errors import SERVICE, raise_for_kommo
from kommo_xero.transport import RetryPolicy, send_with_retry

DEFAULT_CONSENT_URL = "https://www.kommo.com/oauth"
# Refresh this long before expiry, so a request never leaves with a token about to lapse.
REFRESH_LEEWAY_S = 300.0


class BearerToken(httpx.Auth):
    """A fixed token (a long-lived token of a private integration)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"


class TokenSet(BaseModel):
    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires_at: float  # unix seconds
    scope: str | None = None

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) <= seconds

    @classmethod
    def from_token_response(cls, payload: dict[str, Any], *, now: float) -> TokenSet:
        """Read Kommo's `/oauth2/access_token` answer (expires_in is relative to `now`)."""
        # Our clock, not `server_time`: only the duration matters and clocks drift.
        return cls(
            access_token=str(payload["access_token"]),
            refresh_token=payload.get("refresh_token"),
            expires_at=now + float(payload.get("expires_in", 86400)),
            scope=payload.get("scope"),
        )


class TokenSource(Protocol):
    """Where tokens live. The implementation serialises refreshes (single-use refresh tokens:
    two racing refreshes revoke access) and persists the new pair."""

    async def current(self) -> TokenSet: ...

    async def refresh(self, stale: TokenSet) -> TokenSet: ...


class RefreshingAuth(httpx.Auth):
    """Bearer auth that refreshes ahead of expiry, and once on a 401 before replaying."""

    def __init__(
        self,
        source: TokenSource,
        *,
        leeway: float = REFRESH_LEEWAY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._leeway = leeway
        self._clock = clock

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RefreshingAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        tokens = await self._source.current()
        if tokens.expires_within(self._leeway, now=self._clock()):
            tokens = await self._source.refresh(tokens)
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        response = yield request
        if response.status_code == 401:
            # Access may have been rotated elsewhere or revoked; one refresh tells which.
            tokens = await self._source.refresh(tokens)
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"
            yield request


class KommoOAuth:
    """The OAuth 2.0 endpoints of one Kommo account (`base_url` is https://{sub}.kommo.com)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        consent_url: str = DEFAULT_CONSENT_URL,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 20.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.consent_url = consent_url
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._retry = retry
        self._timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"KommoOAuth({self.base_url!r}, client_id={self.client_id!r})"

    def authorize_url(self, state: str, *, mode: str = "post_message") -> str:
        """The consent page to send the admin to; Kommo redirects back with code and state."""
        query = urlencode({"client_id": self.client_id, "state": state, "mode": mode})
        return f"{self.consent_url}?{query}"

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade an authorization code (valid 20 minutes) for a token pair."""
        return await self._token_call(
            {"grant_type": "authorization_code", "code": code}, secrets=(code,)
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token (single use: store the new one at once) for a new pair."""
        return await self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            secrets=(refresh_token,),
        )

    async def _token_call(self, grant: dict[str, str], *, secrets: tuple[str, ...]) -> TokenSet:
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": self.redirect_uri,
            **grant,
        }
        url = f"{self.base_url}/oauth2/access_token"

        def build() -> httpx.Request:
            return self._http.build_request("POST", url, json=body, timeout=self._timeout)

        response = await send_with_retry(
            self._http,
            build,
            service=SERVICE,
            pace_key=f"kommo-oauth:{self.base_url}",
            policy=self._retry,
        )
        raise_for_kommo(response, secrets=(*secrets, self._client_secret))
        return TokenSet.from_token_response(response.json(), now=self._clock())

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
