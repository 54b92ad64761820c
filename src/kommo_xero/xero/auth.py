"""Authenticating to Xero: custom connections, the OAuth code flow, refreshing bearer auth.

`ClientCredentialsAuth` and `RefreshingAuth` are `httpx.Auth` flows: they attach the bearer
token, refresh it 60 s before expiry, and on a 401 refresh once and replay the request. A
second 401 is returned to the client, which reports it as `AuthFailed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

import httpx

from kommo_xero.xero.tokens import (
    CUSTOM_CONNECTION_SCOPES,
    GRANULAR_SCOPES,
    LEGACY_SCOPES,
    REAL_API_BASE,
    REAL_IDENTITY_BASE,
    REAL_LOGIN_BASE,
    REAL_TOKEN_URL,
    REFRESH_MARGIN_S,
    TokenSet,
    scope_text,
    token_from_response,
    token_request,
    utc_now,
)

__all__ = [
    "CUSTOM_CONNECTION_SCOPES",
    "GRANULAR_SCOPES",
    "LEGACY_SCOPES",
    "REAL_API_BASE",
    "REAL_IDENTITY_BASE",
    "REAL_LOGIN_BASE",
    "REAL_TOKEN_URL",
    "ClientCredentialsAuth",
    "RefreshingAuth",
    "TokenSet",
    "TokenSource",
    "XeroOAuth",
]

Clock = Callable[[], datetime]


class _AsyncOnlyAuth(httpx.Auth):
    """Our flows await locks and token stores, so they only work with `httpx.AsyncClient`.

    They override `async_auth_flow` directly, so they read token responses themselves
    (httpx's `requires_response_body` only applies to the default flow).
    """

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError(f"{type(self).__name__} works only with httpx.AsyncClient")


class ClientCredentialsAuth(_AsyncOnlyAuth):
    """Bearer auth for a Xero custom connection (grant_type=client_credentials, no refresh token).

    The token is fetched through the same client that sends the API call, cached, fetched
    again 60 s before it expires, and once more when Xero answers 401.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: str | Sequence[str] = CUSTOM_CONNECTION_SCOPES,
        *,
        clock: Clock = utc_now,
        refresh_margin_s: float = REFRESH_MARGIN_S,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = scope_text(scopes)
        self._clock = clock
        self._margin = refresh_margin_s
        self._token: TokenSet | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(token_url={self._token_url!r}, client_id={self._client_id!r})"
        )

    @property
    def token(self) -> TokenSet | None:
        return self._token

    def _fresh(self, token: TokenSet | None) -> bool:
        return token is not None and not token.expires_within(self._margin, self._clock())

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self._scopes:
            form["scope"] = self._scopes
        return token_request(self._token_url, self._client_id, self._client_secret, form)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        used = self._token
        if not self._fresh(used):
            async with self._lock:
                # Another request may have fetched one while this one waited for the lock.
                if not self._fresh(self._token):
                    answer = yield self._token_request()
                    await answer.aread()
                    self._token = token_from_response(answer, self._clock())
        assert self._token is not None
        used = self._token
        request.headers["Authorization"] = used.authorization()
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token is used:
                answer = yield self._token_request()
                await answer.aread()
                self._token = token_from_response(answer, self._clock())
        request.headers["Authorization"] = self._token.authorization()
        yield request


class TokenSource(Protocol):
    """Where a connection's tokens live. `refresh` must serialise refreshes across processes
    (two parallel refreshes of a rotating refresh token revoke access) and persist the result;
    given a `stale` token it may return a newer one someone else already fetched."""

    async def current(self) -> TokenSet: ...

    async def refresh(self, stale: TokenSet) -> TokenSet: ...


class RefreshingAuth(_AsyncOnlyAuth):
    """Bearer auth from a `TokenSource`: refresh ahead of expiry and once on 401, then replay."""

    def __init__(
        self, source: TokenSource, *, clock: Clock = utc_now, refresh_margin_s: float = 60.0
    ) -> None:
        self._source = source
        self._clock = clock
        self._margin = refresh_margin_s
        self._lock = asyncio.Lock()

    async def _refreshed(self, stale: TokenSet) -> TokenSet:
        async with self._lock:
            # Coroutines of this process that raced here reuse the first one's result.
            latest = await self._source.current()
            if latest.access_token != stale.access_token and not latest.expires_within(
                self._margin, self._clock()
            ):
                return latest
            return await self._source.refresh(latest)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._source.current()
        if token.expires_within(self._margin, self._clock()):
            token = await self._refreshed(token)
        request.headers["Authorization"] = token.authorization()
        response = yield request
        if response.status_code == 401:
            token = await self._refreshed(token)
            request.headers["Authorization"] = token.authorization()
            yield request


class XeroOAuth:
    """The authorization-code flow: consent URL, code exchange, refresh.

    Real Xero: `XeroOAuth(REAL_IDENTITY_BASE, REAL_LOGIN_BASE, ...)`; the simulator serves
    both roles from its own base URL.
    """

    def __init__(
        self,
        identity_base: str,
        login_base: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = utc_now,
        timeout: float = 30.0,
    ) -> None:
        self.token_url = f"{identity_base.rstrip('/')}/connect/token"
        self.authorize_endpoint = f"{login_base.rstrip('/')}/identity/connect/authorize"
        self.revoke_url = f"{identity_base.rstrip('/')}/connect/revocation"
        self._client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._clock = clock

    def __repr__(self) -> str:
        return f"XeroOAuth(token_url={self.token_url!r}, client_id={self._client_id!r})"

    def authorize_url(
        self, state: str, scopes: str | Sequence[str] = GRANULAR_SCOPES, *, code_challenge: str = ""
    ) -> str:
        """Where to send the user to consent; `state` comes back on the redirect."""
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope_text(scopes),
            "state": state,
        }
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.authorize_endpoint}?{urlencode(query)}"

    async def _grant(self, form: dict[str, str]) -> TokenSet:
        request = token_request(self.token_url, self._client_id, self._client_secret, form)
        response = await self._http.send(request)
        return token_from_response(response, self._clock())

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade the code from the consent redirect for tokens; `AuthFailed` if it is invalid."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        return await self._grant(form)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A new token set (with a rotated refresh token); `AuthFailed` on invalid_grant."""
        return await self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
